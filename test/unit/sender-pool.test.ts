import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../core/config.ts';
import {
  compiledWorkerUrl,
  SenderPool,
  startCompiledWorker,
  withoutTsxLoader,
} from '../../local/sender-pool.ts';

describe('sender worker threads (local/sender-pool.ts)', () => {
  it('start from one compiled JavaScript file that imports only packages and built-ins', async () => {
    const url = await compiledWorkerUrl();
    expect(url).toMatch(/^file:.*\/node_modules\/\.cache\/sixback\/sender-worker-[0-9a-f]{16}\.mjs$/);
    // Once per process: a second pool reuses the file.
    expect(await compiledWorkerUrl()).toBe(url);
    const file = fileURLToPath(url as string);
    const code = readFileSync(file, 'utf8');
    const specifiers = [
      ...code.matchAll(/\bfrom\s*["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/g),
    ].map((m) => m[1] ?? m[2]);
    // The project's own modules are compiled in; what is left resolves from node_modules.
    expect(specifiers).toContain('liquidjs');
    expect(specifiers).toContain('node:worker_threads');
    expect(specifiers.filter((s) => s?.startsWith('.') || s?.endsWith('.ts'))).toEqual([]);
    expect(code).toContain('sendBatch');
    // Plain JavaScript: Node parses it with no TypeScript loader.
    const check = spawnSync(process.execPath, ['--check', file], { encoding: 'utf8' });
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
  });

  it('compile any worker module, each keeping its own source URL as import.meta.url', async () => {
    const entry = new URL('../fixtures/meta-url-worker.ts', import.meta.url).href;
    const compiled = await compiledWorkerUrl(entry);
    expect(compiled).toMatch(/\/node_modules\/\.cache\/sixback\/meta-url-worker-[0-9a-f]{16}\.mjs$/);
    const worker = await startCompiledWorker(entry, undefined);
    const [folder] = await once(worker, 'message');
    await worker.terminate();
    // Where the source is, not where the bundle is: files beside a module are found as under tsx.
    expect(folder).toBe(fileURLToPath(new URL('../fixtures/', import.meta.url)));
  });

  it('run every request on a worker started from it, errors named', { timeout: 60_000 }, async () => {
    const config = parseConfig({
      region: 'us-east-1',
      bucket: 'bucket-p',
      tables: {
        templates: 't',
        campaigns: 'c',
        ledger: 'l',
        suppression: 's',
        analytics: 'a',
      },
      credentials: { accessKeyId: 'AKIDPOOL', secretAccessKey: 'secret' },
    });
    const pool = new SenderPool({ config, workers: 2, transport: 'fast' });
    try {
      await pool.ready();
      const memory = (await pool.broadcast('memory')) as { heap: { used_heap_size: number } }[];
      expect(memory).toHaveLength(2);
      for (const m of memory) expect(m.heap.used_heap_size).toBeGreaterThan(1_000_000);
      await expect(pool.run('publicBaseUrl', 'http://localhost:9')).resolves.toBeUndefined();
      // A batch the handler's schema refuses comes back as the named error the engine's Catch sees.
      const refused = await pool.sendBatch({ nonsense: true }).then(
        () => undefined,
        (error: Error) => error,
      );
      expect(refused).toBeInstanceOf(Error);
      expect(refused?.name).not.toBe('Error');
      await expect(pool.run('no-such-op', {})).rejects.toThrow('unknown operation no-such-op');
    } finally {
      await pool.close();
    }
    await expect(pool.run('ping', {})).rejects.toThrow('closed');
  });

  it("leave out tsx's loader flags, and only those, from the flags the threads get", () => {
    const tsxCommand = [
      '--require',
      '/work/x/node_modules/tsx/dist/preflight.cjs',
      '--import',
      'file:///work/x/node_modules/tsx/dist/loader.mjs',
    ];
    expect(withoutTsxLoader(tsxCommand)).toEqual([]);
    expect(withoutTsxLoader(['--cpu-prof', '--import', 'tsx', '--cpu-prof-dir=/tmp/p'])).toEqual([
      '--cpu-prof',
      '--cpu-prof-dir=/tmp/p',
    ]);
    expect(withoutTsxLoader(['--import=tsx/esm', '--enable-source-maps', '-r', 'tsx/cjs'])).toEqual([
      '--enable-source-maps',
    ]);
    // Other loaders and modules whose names merely contain "tsx" stay.
    const others = ['--import', './otel.mjs', '--require', '/a/mytsx/hook.cjs', '--import=tsx-like'];
    expect(withoutTsxLoader(others)).toEqual(others);
    expect(withoutTsxLoader(['--max-old-space-size=384', ...tsxCommand, '--trace-warnings'])).toEqual([
      '--max-old-space-size=384',
      '--trace-warnings',
    ]);
  });
});
