import { buildSync } from 'esbuild';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '../../../client');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string; exports: Record<string, unknown>; peerDependencies: Record<string, string>; dependencies?: unknown };

test('the client package builds to one ESM file with only zod and firebase outside it, at the version it declares', () => {
  const result = buildSync({ entryPoints: [join(root, 'src/index.ts')], bundle: true, format: 'esm', platform: 'node', target: 'node20', external: ['zod', 'firebase', 'firebase/*'], write: false, metafile: true });
  const output = result.outputFiles[0]!.text;
  const imports = Object.values(result.metafile.outputs)[0]!.imports.filter((i) => i.external).map((i) => i.path);
  expect([...new Set(imports)].sort()).toEqual(['firebase/firestore', 'node:crypto', 'zod']);
  for (const name of ['verifyPush', 'ConnectClient', 'liveTasks', 'liveSourceStatus', 'parseChangeEvent', 'VersionGate', 'changeEventSchema', 'CLIENT_VERSION']) expect(output).toMatch(new RegExp(`\\b${name}\\b`));
  expect(output).toContain(`"${pkg.version}"`);
  expect(pkg.exports['.']).toEqual({ import: './dist/index.mjs' });
  expect(pkg.dependencies).toBeUndefined();
});
