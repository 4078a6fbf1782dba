import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

// The tree is the architecture: these checks keep it so. Every import and re-export of every source file
// is read from TypeScript's syntax tree (so comments and strings are not mistaken for imports); imports
// of types only are told apart, as they vanish from what runs.
const root = resolve(import.meta.dirname, '../..');
const roots = ['api', 'bench', 'cli', 'core', 'handlers', 'infra', 'local', 'test', 'web/src'];

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && entry.name !== 'fixtures') out.push(...sourceFiles(path));
    } else if (/\.(ts|mts)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

const files = roots.flatMap(sourceFiles).concat(['vitest.config.ts']);

interface Imports {
  /** Repository paths of the local modules imported, types included. */
  local: string[];
  /** The local modules imported for values: what loads when this module loads. */
  runtime: string[];
  packages: string[];
  runtimePackages: string[];
}

function importsOf(file: string): Imports {
  const text = readFileSync(join(root, file), 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const found: Imports = { local: [], runtime: [], packages: [], runtimePackages: [] };
  const add = (spec: string, typeOnly: boolean) => {
    if (spec.startsWith('.')) {
      const path = relative(root, resolve(root, dirname(file), spec)).replace(/\.js$/, '.ts');
      found.local.push(path);
      if (!typeOnly) found.runtime.push(path);
    } else {
      found.packages.push(spec);
      if (!typeOnly) found.runtimePackages.push(spec);
    }
  };
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const bindings = clause?.namedBindings;
      const typeOnly = Boolean(
        clause &&
          (clause.isTypeOnly ||
            (!clause.name &&
              bindings &&
              ts.isNamedImports(bindings) &&
              bindings.elements.length > 0 &&
              bindings.elements.every((e) => e.isTypeOnly))),
      );
      add(node.moduleSpecifier.text, typeOnly);
    } else if (
      ts.isExportDeclaration(node) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      add(node.moduleSpecifier.text, node.isTypeOnly);
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      add(node.arguments[0].text, false);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

const graph = new Map(files.map((f) => [f, importsOf(f)]));

function layerOf(file: string): string {
  return file.startsWith('web/src/') ? 'web' : (file.split('/')[0] ?? '');
}

/** Import cycles, each as the path that closes it (Tarjan's strongly connected components). */
function cycles(edges: 'local' | 'runtime' = 'local'): string[][] {
  let index = 0;
  const stack: string[] = [];
  const on = new Set<string>();
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const found: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v)?.[edges] ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || graph.get(v)?.[edges].includes(v)) found.push(component.sort());
    }
  };
  for (const f of graph.keys()) if (!idx.has(f)) visit(f);
  return found;
}

// Which layers each layer may not import from. The core is plain and takes its dependencies; the
// adapters around it (API, Lambda handlers, CLI, local stack, console) never reach into each other
// except where named.
const forbidden: Record<string, string[]> = {
  core: ['api', 'handlers', 'cli', 'local', 'web', 'bench', 'test', 'infra'],
  api: ['handlers', 'cli', 'local', 'web', 'bench', 'test', 'infra'],
  handlers: ['cli', 'local', 'web', 'bench', 'test', 'infra', 'api'],
  // The console shares the core's schemas and pure functions; what it loads is checked below.
  web: ['api', 'handlers', 'cli', 'local', 'bench', 'test', 'infra'],
  local: ['cli', 'web', 'bench', 'test', 'infra'],
  cli: ['web', 'bench', 'test'],
  infra: ['api', 'cli', 'local', 'web', 'bench', 'test'],
};
// The API's Lambda handler is the one handler that serves the API.
const allowed = new Set(['handlers/api.ts -> api']);

describe('architecture', () => {
  it('reads the source tree', () => {
    expect(files.length).toBeGreaterThan(100);
    expect(graph.get('core/app.ts')?.local.length).toBeGreaterThan(0);
  });

  it('has no import cycle at run time', () => {
    expect(cycles('runtime')).toEqual([]);
  });

  it('has no import cycle through types either', () => {
    // A type-only cycle costs nothing at run time but still ties the modules together: none is allowed.
    expect(cycles('local')).toEqual([]);
  });

  it('has no layer reaching across', () => {
    const crossings: string[] = [];
    for (const [file, { local }] of graph) {
      const from = layerOf(file);
      for (const target of local) {
        const to = layerOf(target);
        if (forbidden[from]?.includes(to) && !allowed.has(`${file} -> ${to}`))
          crossings.push(`${file} -> ${target}`);
      }
    }
    expect(crossings).toEqual([]);
  });

  it('loads no Node-only module into the browser console', () => {
    // Everything the console's modules load, through the core modules they share, at run time.
    const loaded = new Set<string>();
    const pending = [...graph.keys()].filter((f) => layerOf(f) === 'web');
    while (pending.length) {
      const file = pending.pop()!;
      if (loaded.has(file) || !graph.has(file)) continue;
      loaded.add(file);
      pending.push(...(graph.get(file)?.runtime ?? []));
    }
    expect(loaded.has('web/src/main.ts')).toBe(true);
    const nodeOnly: string[] = [];
    for (const file of loaded) {
      for (const spec of graph.get(file)?.runtimePackages ?? []) {
        if (spec.startsWith('node:') || builtinModules.includes(spec) || /^@aws-sdk\/|^@smithy\//.test(spec))
          nodeOnly.push(`${file} -> ${spec}`);
      }
    }
    expect(nodeOnly).toEqual([]);
  });

  it('declares every imported package in package.json', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    const declared = new Set([...Object.keys(pkg.dependencies), ...Object.keys(pkg.devDependencies)]);
    const undeclared = new Set<string>();
    for (const [file, { packages }] of graph) {
      for (const spec of packages) {
        if (spec.startsWith('node:') || builtinModules.includes(spec)) continue;
        const name = spec.startsWith('@')
          ? spec.split('/').slice(0, 2).join('/')
          : (spec.split('/')[0] ?? spec);
        if (!declared.has(name)) undeclared.add(`${name} (${file})`);
      }
    }
    expect([...undeclared].sort()).toEqual([]);
  });

  it('pins every package to an exact version', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    const ranges = Object.entries({ ...pkg.dependencies, ...pkg.devDependencies }).filter(
      ([, v]) => !/^\d+\.\d+\.\d+(-[\w.]+)?$/.test(v),
    );
    expect(ranges).toEqual([]);
  });
});
