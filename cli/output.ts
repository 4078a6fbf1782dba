/** Output for people (tables, progress bars) and for scripts (--json), and the variable flags. */
import { InvalidArgumentError } from 'commander';

export const isTty = () => Boolean(process.stdout.isTTY);

const ANSI = { red: 31, green: 32, yellow: 33, cyan: 36, dim: 2, bold: 1 } as const;
/** Colours text for a terminal; plain when stdout is not one, or NO_COLOR is set (no-color.org). */
export function colour(name: keyof typeof ANSI, text: string): string {
  if (!isTty() || process.env.NO_COLOR) return text;
  return `\x1b[${ANSI[name]}m${text}\x1b[0m`;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

export function table(rows: (string | number | null | undefined)[][], header?: string[]): string {
  const all = (header ? [header, ...rows] : rows).map((row) =>
    row.map((cell) => (cell == null ? '' : String(cell))),
  );
  const widths: number[] = [];
  for (const row of all) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return all
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function progressBar(done: number, total: number | null, width = 30): string {
  if (!total) return `[${'.'.repeat(width)}]`;
  const filled = Math.min(width, Math.round((done / total) * width));
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

export function duration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

/** An option that may repeat and takes comma-separated values (`--test a@x,b@y --test c@z`). */
export const collectList = (value: string, previous: string[] = []) => [
  ...previous,
  ...value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean),
];

/** `--data k=v` may repeat; values stay strings, as CSV columns are. */
export function collectVariable(
  value: string,
  previous: Record<string, string> = {},
): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError(`"${value}" is not name=value`);
  const name = value.slice(0, eq).trim();
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw new InvalidArgumentError(
      `"${name}" is not a variable name (letters, digits and _, not starting with a digit)`,
    );
  }
  return { ...previous, [name]: value.slice(eq + 1) };
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError('must be a positive number');
  return n;
}

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive whole number');
  return n;
}

/** Asks a yes/no question on the terminal; without one, refuses (scripts pass --yes). */
export async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

/**
 * `html line 12, column 3:` then the line with its number and a caret under the column (1-based), as a
 * compiler shows an error. Tabs before the column are kept so the caret lines up in a terminal.
 */
export function sourcePointer(source: string, line: number, column: number, label = ''): string {
  const text = (source.split(/\r?\n/)[line - 1] ?? '').replace(/\s+$/, '');
  const gutter = `${line} | `;
  const lead = text.slice(0, Math.max(0, column - 1)).replace(/[^\t]/g, ' ');
  return `  ${label}line ${line}, column ${column}:\n  ${gutter}${text}\n  ${' '.repeat(gutter.length - 2)}| ${lead}^`;
}
