/**
 * One `sixback dev` per data folder. The folder's lock is a pid file created exclusively (`wx`); a lock
 * whose process is gone (killed, crashed) is stale and taken over. Whoever holds the lock is the only
 * one that writes or removes the folder's discovery file (api.json), so a second stack, even an
 * ephemeral one, never overwrites or deletes what another stack's commands rely on.
 */
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { DEV_FILE, readDevFile } from './target.ts';

export const LOCK_FILE = 'dev.pid';

export interface DevLockHolder {
  pid: number;
  /** The holder's API address, once it has written the discovery file. */
  url?: string;
}

/** True when a process with this pid exists (EPERM: it exists but belongs to someone else). */
export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(dataDir: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(join(dataDir, LOCK_FILE), 'utf8').trim(), 10);
    return Number.isNaN(pid) ? undefined : pid;
  } catch {
    return undefined;
  }
}

/** The live stack holding the folder, if any. */
export function lockHolder(dataDir: string): DevLockHolder | undefined {
  const pid = readHolder(dataDir);
  if (pid === undefined || !isAlive(pid) || pid === process.pid) return undefined;
  const dev = readDevFile(dataDir);
  return { pid, ...(dev && dev.pid === pid ? { url: dev.url } : {}) };
}

export interface DevLock {
  /** Writes the discovery file (api.json) of the folder: only the lock holder may. */
  release(): void;
}

/**
 * Takes the folder's lock, or answers who holds it. A stale lock (its process is gone) is removed and
 * taken; so is the discovery file it left, which points at an API that no longer answers.
 */
export function acquireDevLock(dataDir: string): { lock: DevLock } | { heldBy: DevLockHolder } {
  const path = join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return {
        lock: {
          release() {
            // Only what is still ours: a stale-lock takeover by another process must not lose its files.
            if (readHolder(dataDir) !== process.pid) return;
            if (readDevFile(dataDir)?.pid === process.pid) rmSync(join(dataDir, DEV_FILE), { force: true });
            rmSync(path, { force: true });
          },
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = lockHolder(dataDir);
      if (holder) return { heldBy: holder };
      const pid = readHolder(dataDir);
      if (pid === process.pid) throw new Error(`this process already holds ${path}`);
      // Stale: its process is gone. Its discovery file points at nothing either.
      const dev = readDevFile(dataDir);
      if (dev && (dev.pid === undefined || !isAlive(dev.pid)))
        rmSync(join(dataDir, DEV_FILE), { force: true });
      rmSync(path, { force: true });
    }
  }
  throw new Error(`Could not take the lock ${path}: another sixback dev keeps taking it.`);
}
