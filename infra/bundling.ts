/**
 * How every Lambda handler is bundled, in one place: the CDK functions (infra/constructs/function.ts)
 * and the bundle test (test/infra/bundle.test.ts) both build from these settings, without the test
 * having to load aws-cdk-lib.
 *
 * The bundle is ESM because the code is; a few dependencies still call `require`, which an ESM bundle
 * must be given (the banner). The AWS SDK is bundled rather than taken from the Lambda runtime, so what
 * runs is what was tested: the versions pinned in package-lock.json.
 */
import { join } from 'node:path';

export const REPO_ROOT = join(import.meta.dirname, '..');

/** Lambda runtime major version; the esbuild target follows it. */
export const NODE_MAJOR = 24;

export const BUNDLING = {
  format: 'esm',
  target: `node${NODE_MAJOR}`,
  platform: 'node',
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  mainFields: ['module', 'main'],
  banner:
    "import { createRequire as __sixbackCreateRequire } from 'node:module'; const require = __sixbackCreateRequire(import.meta.url);",
  externalModules: [] as string[],
} as const;

/** The same bundle as esbuild's build options, for building it outside CDK. */
export function esbuildOptions(entry: string, outfile: string): EsbuildOptions {
  return {
    entryPoints: [join(REPO_ROOT, entry)],
    outfile,
    bundle: true,
    format: BUNDLING.format,
    target: BUNDLING.target,
    platform: BUNDLING.platform,
    minify: BUNDLING.minify,
    sourcemap: BUNDLING.sourceMap,
    sourcesContent: BUNDLING.sourcesContent,
    mainFields: [...BUNDLING.mainFields],
    banner: { js: BUNDLING.banner },
    external: [...BUNDLING.externalModules],
    logLevel: 'silent',
  };
}

/** The subset of esbuild's BuildOptions used here (typed locally: infra does not import esbuild). */
export interface EsbuildOptions {
  entryPoints: string[];
  outfile: string;
  bundle: boolean;
  format: 'esm';
  target: string;
  platform: 'node';
  minify: boolean;
  sourcemap: boolean;
  sourcesContent: boolean;
  mainFields: string[];
  banner: { js: string };
  external: string[];
  logLevel: 'silent';
}
