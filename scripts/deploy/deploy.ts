/**
 * scripts/deploy.sh: deploys the manifest with gcloud (see gcloud-plan.ts), or prints every
 * command with --dry-run. Runs from the repository root.
 *
 *   OAUTH_CLIENT_SECRET=… scripts/deploy.sh --project P --region us-central1 \
 *     --oauth-client-id ID --connect-return-url https://tasks.example.com/settings \
 *     [--firestore-location nam5] [--alert-email ops@example.com] [--dry-run]
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { lookups, planGcloud, type DeployOptions, type Plan, type Step } from './gcloud-plan';
import { buildManifest } from './manifest';

export const ROOT = join(__dirname, '../..');
export const FILES_DIR = 'infra/.build/gcloud';

export { lookups };

const quote = (arg: string) => (/^[\w@%+=:,./{}()-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`);
export const commandLine = (argv: string[]) => argv.map(quote).join(' ');

/** What --dry-run prints: one command per line, prefixed with the role it plays. */
export function formatPlan(plan: Plan, o: DeployOptions): string {
  const l = lookups(o);
  const lines = [
    '# Resolved at run time: {projectNumber}, {uri:<function>}, {channel}, {found} (what "find" printed), {env:<VARIABLE>} (never printed).',
    `lookup: ${commandLine(l.projectNumber)}`,
    `lookup: ${commandLine(l.uri('<function>'))}`,
    `lookup: ${commandLine(l.channel)}`,
    'run:    npm run build',
  ];
  for (const step of plan.steps) {
    if (step.section) {
      lines.push(`# ${step.section}`);
      continue;
    }
    if (step.find) lines.push(`find:   ${commandLine(step.find)}${step.expect ? `   (done when it prints ${step.expect})` : ''}`);
    lines.push(`${step.find ? 'create: ' : 'run:    '}${commandLine(step.create)}${step.stdin ? ` < $${step.stdin}` : ''}`);
    if (step.update) lines.push(`update: ${commandLine(step.update)}`);
  }
  return `${lines.join('\n')}\n`;
}

function hashTree(paths: string[]): string {
  const hash = createHash('sha256');
  const visit = (path: string): void => {
    if (!existsSync(path)) return;
    if (statSync(path).isDirectory()) return readdirSync(path).sort().forEach((entry) => visit(join(path, entry)));
    hash.update(relative(ROOT, path)).update(readFileSync(path));
  };
  paths.forEach(visit);
  return hash.digest('hex');
}

class StepFailed extends Error {}

function run(argv: string[], capture: boolean, stdin?: string) {
  const [command, ...args] = argv as [string, ...string[]];
  const result = spawnSync(command, args, { cwd: ROOT, env: process.env, encoding: 'utf8', input: stdin ?? '', stdio: ['pipe', capture ? 'pipe' : 'inherit', 'pipe'] });
  return { ok: result.status === 0, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
}

export function execute(plan: Plan, o: DeployOptions): void {
  const l = lookups(o);
  const memo = new Map<string, string>();
  const resolveOnce = (key: string, argv: string[]) => {
    if (!memo.has(key)) {
      const out = run(argv, true);
      if (!out.ok || out.stdout.trim() === '') throw new StepFailed(`could not resolve ${key}: ${out.stderr}`);
      memo.set(key, out.stdout.trim());
    }
    return memo.get(key)!;
  };
  const resolve = (text: string, found = ''): string =>
    text
      .replace(/\{projectNumber\}/g, () => resolveOnce('projectNumber', l.projectNumber))
      .replace(/\{uri:(\w+)\}/g, (_, fn: string) => resolveOnce(`uri:${fn}`, l.uri(fn)))
      .replace(/\{channel\}/g, () => resolveOnce('channel', l.channel))
      .replace(/\{file:([\w.-]+)\}/g, (_, f: string) => writeConfigFile(f))
      .replace(/\{env:(\w+)\}/g, (_, v: string) => process.env[v] ?? '')
      .replace(/\{found\}/g, found);
  // Written when first used: a policy file names the notification channel created just before.
  mkdirSync(join(ROOT, FILES_DIR), { recursive: true });
  const writeConfigFile = (name: string) => {
    writeFileSync(join(ROOT, FILES_DIR, name), resolve(plan.files[name] ?? ''));
    return join(FILES_DIR, name);
  };

  for (const step of plan.steps) {
    if (step.section) {
      console.log(`\n# ${step.section}`);
      continue;
    }
    const found = step.find ? run(step.find.map((a) => resolve(a)), true) : null;
    const exists = found !== null && found.ok && found.stdout.trim() !== '';
    if (exists && step.expect !== undefined && found.stdout.trim() === resolve(step.expect).trim()) {
      console.log(`  unchanged: ${commandLine(step.create.slice(0, 6))} …`);
      continue;
    }
    if (exists && !step.update && step.expect === undefined) {
      console.log(`  exists: ${commandLine(step.create.slice(0, 6))} …`);
      continue;
    }
    runWithRetry(step, (exists && step.update ? step.update : step.create).map((a) => resolve(a, found?.stdout.trim() ?? '')));
  }
}

function runWithRetry(step: Step, argv: string[]): void {
  const deadline = Date.now() + (step.retrySeconds ?? 0) * 1000;
  console.log(`  ${commandLine(argv)}`);
  for (;;) {
    const out = run(argv, false, step.stdin ? process.env[step.stdin] : undefined);
    if (out.ok) return;
    // A new log-based metric is not usable in an alert policy for up to ~10 minutes.
    if (Date.now() < deadline && /metric|not found|does not exist/i.test(out.stderr)) {
      console.log('  (the metrics are not visible yet; retrying in 30 s)');
      spawnSync('sleep', ['30']);
      continue;
    }
    process.stderr.write(out.stderr);
    throw new StepFailed(`failed: ${commandLine(argv)}`);
  }
}

function parseOptions(argv: string[]): { options: Omit<DeployOptions, 'sourceHash'>; dryRun: boolean } {
  const { values } = parseArgs({
    args: argv,
    options: {
      project: { type: 'string' },
      region: { type: 'string', default: 'us-central1' },
      'oauth-client-id': { type: 'string' },
      'connect-return-url': { type: 'string' },
      'firestore-location': { type: 'string', default: 'nam5' },
      'alert-email': { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
    },
  });
  const dryRun = values['dry-run'];
  const missing = [
    !values.project && '--project',
    !values['oauth-client-id'] && '--oauth-client-id',
    !values['connect-return-url'] && '--connect-return-url',
    !dryRun && !process.env.OAUTH_CLIENT_SECRET && 'OAUTH_CLIENT_SECRET (environment)',
  ].filter(Boolean);
  if (missing.length > 0) throw new Error(`missing: ${missing.join(', ')}`);
  return {
    dryRun,
    options: {
      project: values.project!,
      region: values.region,
      oauthClientId: values['oauth-client-id']!,
      connectReturnUrl: values['connect-return-url']!,
      firestoreLocation: values['firestore-location'],
      alertEmail: values['alert-email'] ?? null,
    },
  };
}

/** What the functions' deploy hash covers: the built package and its manifests. */
function sourceHash(): string {
  return hashTree(['functions/lib', 'functions/package.json', 'functions/package-lock.json'].map((p) => join(ROOT, p)));
}

function main(): void {
  const { options: parsed, dryRun } = parseOptions(process.argv.slice(2));
  if (!dryRun && !run(['npm', 'run', 'build'], false).ok) throw new StepFailed('npm run build failed');
  // Hashed after the build, so the hash covers the package that is deployed.
  const built = { ...parsed, sourceHash: sourceHash() };
  if (dryRun) {
    process.stdout.write(formatPlan(planGcloud(buildManifest(), built), built));
    return;
  }
  execute(planGcloud(buildManifest(), built), built);
  console.log(`\nDone. Add https://${built.region}-${built.project}.cloudfunctions.net/connectCallback/callback as an authorized redirect URI of the OAuth client.`);
}

if (require.main === module) {
  try {
    main();
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  }
}
