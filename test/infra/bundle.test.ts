/**
 * Every Lambda handler bundles with the stack's esbuild settings (infra/bundling.ts) and the bundle's
 * entry exports `handler`. Bundles are imported by a plain Node process (as Lambda would load them,
 * and without vitest transforming megabytes of minified code), never called: building AppDeps needs AWS.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TASK_FUNCTIONS } from '../../handlers/index.ts';
import { esbuildOptions } from '../../infra/bundling.ts';
import { API_ENTRY, JOBS_ENTRY, SES_EVENTS_ENTRY } from '../../infra/entries.ts';

const ENTRIES = [
  ...Object.values(TASK_FUNCTIONS).map((fn) => fn.entry),
  API_ENTRY,
  SES_EVENTS_ENTRY,
  JOBS_ENTRY,
];

const outDir = mkdtempSync(join(tmpdir(), 'sixback-bundles-'));
const outfileOf = (entry: string) => join(outDir, entry.replace(/[/.]/g, '-'), 'index.mjs');

const builds = new Map<string, { errors: unknown[]; warnings: unknown[] }>();
let handlerTypes: Record<string, string> = {};

beforeAll(async () => {
  // esbuild runs the builds in parallel in its own process.
  await Promise.all(
    ENTRIES.map(async (entry) => {
      const result = await build(esbuildOptions(entry, outfileOf(entry)));
      builds.set(entry, result);
    }),
  );
  const urls = Object.fromEntries(ENTRIES.map((entry) => [entry, pathToFileURL(outfileOf(entry)).href]));
  const script = `
    const urls = ${JSON.stringify(urls)};
    const types = {};
    for (const [entry, url] of Object.entries(urls)) types[entry] = typeof (await import(url)).handler;
    process.stdout.write(JSON.stringify(types));
  `;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, AWS_REGION: 'us-east-1' },
  });
  handlerTypes = JSON.parse(out) as Record<string, string>;
}, 120_000);

afterAll(() => rmSync(outDir, { recursive: true, force: true }));

describe('Lambda bundles', () => {
  it.each(ENTRIES)('%s bundles without errors and its entry exports handler', (entry) => {
    expect(builds.get(entry)?.errors).toEqual([]);
    expect(handlerTypes[entry]).toBe('function');
  });
});
