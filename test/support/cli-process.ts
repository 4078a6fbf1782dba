/** The sixback CLI as a child process, the way people run it (through tsx, from any folder). */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
export const TSX = join(ROOT, 'node_modules/.bin/tsx');
export const MAIN = join(ROOT, 'cli/main.ts');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment of a CLI child: no API from the test's own environment, and no SDK noise. */
export function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NODE_NO_WARNINGS: '1',
    SIXBACK_API_URL: '',
    SIXBACK_TOKEN: '',
    NO_COLOR: '1',
    ...extra,
  };
}

export function sixback(
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<Run> {
  return new Promise((done) => {
    execFile(
      TSX,
      [MAIN, ...args],
      { cwd: options.cwd ?? ROOT, timeout: options.timeoutMs ?? 90_000, env: cliEnv(options.env) },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}

/** What a `--json` command printed on its last line (the lines before it are progress). */
export const lastJson = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1) as string);

/** A shell command line, as pasted from the README, with `npx sixback` run from this checkout. */
export function shell(line: string, options: { cwd: string; timeoutMs?: number }): Promise<Run> {
  const command = line.replace(/^npx sixback\b/, `"${TSX}" "${MAIN}"`);
  return new Promise((done) => {
    execFile(
      'bash',
      ['-c', command],
      { cwd: options.cwd, timeout: options.timeoutMs ?? 120_000, env: cliEnv() },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}

export interface DevProcess {
  child: ChildProcess;
  info: { url: string; token: string; inboxUrl?: string; consoleUrl?: string; pid: number; dataDir: string };
  output: () => string;
  stop: () => Promise<number | null>;
}

/** `sixback dev ... --json` in the background, resolved once it printed its JSON line. */
export function startDev(args: string[], options: { cwd: string; timeoutMs?: number }): Promise<DevProcess> {
  const child = spawn(TSX, [MAIN, 'dev', ...args, '--json'], { cwd: options.cwd, env: cliEnv() });
  let out = '';
  let err = '';
  child.stderr?.on('data', (chunk) => {
    err += String(chunk);
  });
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  return new Promise((resolveStart, rejectStart) => {
    const timer = setTimeout(
      () => rejectStart(new Error(`sixback dev did not start: ${err}`)),
      options.timeoutMs ?? 90_000,
    );
    child.stdout?.on('data', (chunk) => {
      out += String(chunk);
      // A complete line only: a chunk may end in the middle of it.
      const line = out
        .split('\n')
        .slice(0, -1)
        .find((l) => l.startsWith('{'));
      if (!line) return;
      clearTimeout(timer);
      const info = JSON.parse(line);
      if (info.error) {
        child.kill('SIGINT');
        rejectStart(new Error(`sixback dev refused to start: ${info.error.message}`));
        return;
      }
      resolveStart({
        child,
        info,
        output: () => out + err,
        stop: async () => {
          if (child.exitCode === null) child.kill('SIGINT');
          return exited;
        },
      });
    });
    void exited.then((code) => {
      clearTimeout(timer);
      rejectStart(new Error(`sixback dev exited with ${code} before it was ready: ${err}`));
    });
  });
}
