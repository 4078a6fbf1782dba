import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nearestId } from '../../cli/commands/send.ts';
import { acquireDevLock, isAlive, LOCK_FILE } from '../../cli/dev-lock.ts';
import { CliError } from '../../cli/exit.ts';
import { sourcePointer } from '../../cli/output.ts';
import { resolveAt } from '../../cli/when.ts';

const NOW = new Date('2026-12-01T08:50:00Z');

describe('--at', () => {
  it.each([
    ['2026-12-02 09:00', 'Europe/Paris', '2026-12-02T08:00:00.000Z'],
    ['2026-12-02T09:00+09:00', 'Europe/Paris', '2026-12-02T00:00:00.000Z'],
    ['tomorrow 9am', 'Asia/Seoul', '2026-12-02T00:00:00.000Z'],
    ['Tomorrow at 9:30 PM', 'Europe/Paris', '2026-12-02T20:30:00.000Z'],
    ['tomorrow 12am', 'UTC', '2026-12-02T00:00:00.000Z'],
    ['today 17:30', 'Europe/Paris', '2026-12-01T16:30:00.000Z'],
    // 22:50 on 30 November in Honolulu: its "tomorrow" is the 1st of December, by its own calendar.
    ['tomorrow 9am', 'Pacific/Honolulu', '2026-12-01T19:00:00.000Z'],
  ])('reads %j in %s', (at, zone, instant) => {
    expect(resolveAt(at, zone, NOW).instant.toISOString()).toBe(instant);
  });

  it.each([
    ['tomorrowT9am', 'is not a time sixback understands'],
    ['next friday', 'is not a time sixback understands'],
    ['tomorrow 13pm', 'has hour 13 with pm'],
    ['2026-02-30 09:00', 'is not a real date'],
    ['2026-03-29 02:30', 'does not exist in Europe/Paris'],
    [
      'today 8am',
      'is in the past: that is 2026-12-01 08:00 in Europe/Paris, and it is now 2026-12-01 09:50 there',
    ],
  ])('refuses %j, naming the flag', (at, why) => {
    const resolve = () => resolveAt(at, 'Europe/Paris', NOW);
    expect(resolve).toThrow(CliError);
    expect(resolve).toThrow(`--at "${at}"`);
    expect(resolve).toThrow(why);
  });
});

describe('nearest template id', () => {
  it('suggests a close id and nothing for a far one', () => {
    const ids = ['welcome', 'newsletter', 'receipt'];
    expect(nearestId('welcom', ids)).toBe('welcome');
    expect(nearestId('Newsleter', ids)).toBe('newsletter');
    expect(nearestId('news', ids)).toBe('newsletter');
    expect(nearestId('invoice', ids)).toBeUndefined();
  });
});

describe('source pointer', () => {
  it('puts the caret under the column, keeping tabs', () => {
    const text = sourcePointer('a\n\t  {% endfi %}\n', 2, 4, 'html ');
    const [head, line, caret] = text.split('\n') as [string, string, string];
    expect(head).toBe('  html line 2, column 4:');
    expect(line).toBe('  2 | \t  {% endfi %}');
    expect(caret.indexOf('^')).toBe(line.indexOf('{'));
  });
});

describe('the data folder lock', () => {
  it('is held by one process; a lock whose process is gone is taken over', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sixback-lock-'));
    try {
      const first = acquireDevLock(dir);
      expect('lock' in first).toBe(true);
      expect(readFileSync(join(dir, LOCK_FILE), 'utf8').trim()).toBe(String(process.pid));
      if ('lock' in first) first.lock.release();
      // A pid no process has: stale, so taken over.
      writeFileSync(join(dir, LOCK_FILE), '999999999\n');
      expect(isAlive(999_999_999)).toBe(false);
      const second = acquireDevLock(dir);
      expect('lock' in second).toBe(true);
      if ('lock' in second) second.lock.release();
      // A live process (the parent of this test runner): held.
      writeFileSync(join(dir, LOCK_FILE), `${process.ppid}\n`);
      expect(acquireDevLock(dir)).toEqual({ heldBy: { pid: process.ppid } });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
