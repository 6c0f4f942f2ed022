/**
 * functions/package-lock.json: the lockfile Cloud Build installs the uploaded functions/
 * package from (`npm ci`). npm keeps one lockfile for the workspaces, at the root, so this one
 * is derived from it: exactly the packages the `functions` workspace resolves to there, laid
 * out for a standalone install. The tests therefore run on the versions that deploy, and
 * test/unit/functions-lock.test.ts fails when the two drift apart.
 *
 *   npx tsx scripts/deploy/functions-lock.ts     (after changing functions/package.json and npm install)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  link?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  [field: string]: unknown;
}
export interface Lockfile {
  name: string;
  version?: string;
  lockfileVersion: number;
  requires?: boolean;
  packages: Record<string, LockEntry>;
}

const ROOT = join(__dirname, '../..');
const nameOf = (path: string) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);

/** Where Node looks for `name` from the package at `from` (lock paths; '' is the root). */
function resolve(lock: Lockfile, from: string, name: string): string | null {
  let dir = from;
  for (;;) {
    const candidate = dir === '' ? `node_modules/${name}` : `${dir}/node_modules/${name}`;
    if (lock.packages[candidate]) return candidate;
    if (dir === '') return null;
    const cut = dir.lastIndexOf('/node_modules/');
    dir = cut === -1 ? (dir.startsWith('node_modules/') || !dir.includes('/') ? '' : dir.slice(0, dir.lastIndexOf('/'))) : dir.slice(0, cut);
    if (dir === 'node_modules') dir = '';
  }
}

function runtimeDependencies(entry: LockEntry): string[] {
  const peers = Object.keys(entry.peerDependencies ?? {}).filter((p) => !entry.peerDependenciesMeta?.[p]?.optional);
  return [...Object.keys(entry.dependencies ?? {}), ...Object.keys(entry.optionalDependencies ?? {}), ...peers];
}

/** Every package instance reachable from `start`, with the instance each dependency resolves to. */
export function reachable(lock: Lockfile, start: string): Map<string, Map<string, string>> {
  const edges = new Map<string, Map<string, string>>();
  const queue = [start];
  while (queue.length > 0) {
    const at = queue.pop()!;
    if (edges.has(at)) continue;
    const resolved = new Map<string, string>();
    edges.set(at, resolved);
    for (const dep of runtimeDependencies(lock.packages[at]!)) {
      const target = resolve(lock, at, dep);
      if (target === null) continue; // an optional dependency for another platform
      resolved.set(dep, target);
      queue.push(target);
    }
  }
  return edges;
}

/** The dependency graph as `name@version → dep@version` lines: what an install really runs. */
export function dependencyGraph(lock: Lockfile, start: string): string[] {
  const id = (path: string) => (path === start ? '(root)' : `${nameOf(path)}@${lock.packages[path]!.version ?? '?'}`);
  const lines = new Set<string>();
  for (const [from, deps] of reachable(lock, start)) for (const [, to] of deps) lines.add(`${id(from)} → ${id(to)}`);
  return [...lines].sort();
}

const DROPPED = new Set(['dev', 'devOptional', 'peer', 'extraneous', 'inBundle']);

/** The functions workspace's part of the root lockfile, as a standalone lockfile. */
export function deriveFunctionsLock(root: Lockfile, functionsPackage: { name: string; version: string; engines?: object; dependencies: Record<string, string> }): Lockfile {
  const packages: Record<string, LockEntry> = {
    '': { name: functionsPackage.name, version: functionsPackage.version, dependencies: functionsPackage.dependencies, ...(functionsPackage.engines && { engines: functionsPackage.engines }) },
  };
  const instances = [...reachable(root, 'functions').keys()].filter((p) => p !== 'functions');
  // Workspace-local instances win their top-level name; root ones they shadow cannot be used
  // from the functions package itself, so only other root instances reach them: nest those.
  const local = new Set(instances.filter((p) => p.startsWith('functions/node_modules/')).map((p) => p.slice('functions/node_modules/'.length).split('/node_modules/')[0]!));
  for (const path of instances) {
    const target = path.startsWith('functions/') ? path.slice('functions/'.length) : path;
    const topName = target.replace(/^node_modules\//, '').split('/node_modules/')[0]!;
    if (!path.startsWith('functions/') && local.has(topName)) throw new Error(`${path} is shadowed by the workspace's own ${topName}: lay it out by hand or align the versions`);
    packages[target] = Object.fromEntries(Object.entries(root.packages[path]!).filter(([k]) => !DROPPED.has(k)));
  }
  const sorted = Object.fromEntries(Object.keys(packages).sort((a, b) => a.localeCompare(b, 'en')).map((k) => [k, packages[k]!]));
  return { name: functionsPackage.name, version: functionsPackage.version, lockfileVersion: 3, requires: true, packages: sorted };
}

export const readJson = <T>(path: string): T => JSON.parse(readFileSync(join(ROOT, path), 'utf8')) as T;

if (require.main === module) {
  const lock = deriveFunctionsLock(readJson<Lockfile>('package-lock.json'), readJson('functions/package.json'));
  writeFileSync(join(ROOT, 'functions/package-lock.json'), `${JSON.stringify(lock, null, 2)}\n`);
  console.log(`wrote functions/package-lock.json (${Object.keys(lock.packages).length - 1} packages)`);
}
