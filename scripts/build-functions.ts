/**
 * `npm run build`: the deployable package's `lib/index.js`, one bundle of our code and zod.
 *
 * Much of a cold start is loading modules: the compiled tree was 74 modules of ours plus
 * zod's barrel, which loads every one of its ~65 locales. The bundle is one file; the
 * runtime dependencies that ship their own data files or native code (the Google clients:
 * protos, gRPC) stay external and are installed by Cloud Build from `functions/package.json`
 * as before, and are still loaded lazily where the code says so (`import()` stays a
 * deferred `require`).
 * This only transpiles: `npm run build` type-checks with `tsc` first.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const FUNCTIONS = join(__dirname, '..', 'functions');
/** Bundled: pure JavaScript with no files of its own to find at run time. */
const BUNDLED = new Set(['zod']);

async function main(): Promise<void> {
  const manifest = JSON.parse(readFileSync(join(FUNCTIONS, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  const external = Object.keys(manifest.dependencies).filter((name) => !BUNDLED.has(name));
  rmSync(join(FUNCTIONS, 'lib'), { recursive: true, force: true });
  const result = await build({
    entryPoints: [join(FUNCTIONS, 'src', 'index.ts')],
    outfile: join(FUNCTIONS, 'lib', 'index.js'),
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    // A package's subpaths too (e.g. `@google-cloud/firestore/build/...`).
    external: external.flatMap((name) => [name, `${name}/*`]),
    sourcemap: true,
    logLevel: 'warning',
    metafile: true,
  });
  const inputs = Object.keys(result.metafile.inputs);
  const stray = inputs.filter((path) => path.includes('node_modules/') && ![...BUNDLED].some((name) => path.includes(`node_modules/${name}/`)));
  if (stray.length > 0) throw new Error(`bundled a package that should stay external (add it to functions/package.json): ${stray.join(', ')}`);
  const bytes = Object.values(result.metafile.outputs).reduce((sum, output) => sum + output.bytes, 0);
  console.log(`functions/lib/index.js: ${inputs.length} modules, ${(bytes / 1024).toFixed(0)} KiB with its source map`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
