/**
 * scripts/deploy.sh: deploys the manifest with gcloud (see gcloud-plan.ts), prints every
 * command with --dry-run, or checks the project first with --check (preflight.ts). Runs from
 * the repository root; usage in USAGE below and in docs/deployment.md.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { lookups, planGcloud, type DeployOptions, type Plan, type Step } from './gcloud-plan';
import { buildManifest } from './manifest';
import { preflight } from './preflight';

export const ROOT = join(__dirname, '../..');
export const FILES_DIR = 'infra/.build/gcloud';

export { lookups };

const quote = (arg: string) => (/^[\w@%+=:,./{}()-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`);
export const commandLine = (argv: string[]) => argv.map(quote).join(' ');

/** What --dry-run prints: one command per line, prefixed with the role it plays. */
export function formatPlan(plan: Plan, o: DeployOptions): string {
  const l = lookups(o);
  const lines = [
    '# Resolved at run time: {projectNumber}, {uri:<function>}, {secretVersion:<secret>}, {channel}, {found} (the name of what "find" printed),',
    '# {deployHash} (hash of the resolved command and its files), {env:<VARIABLE>} (never printed).',
    `lookup: ${commandLine(l.projectNumber)}`,
    `lookup: ${commandLine(l.uri('<function>'))}`,
    `lookup: ${commandLine(l.secretVersion('<secret>'))}`,
    `lookup: ${commandLine(l.channel)}`,
    'run:    npm run build',
  ];
  for (const step of plan.steps) {
    if (step.section) {
      lines.push(`# ${step.section}`);
      continue;
    }
    if (step.wait) {
      lines.push(`wait:   ${commandLine(step.find!)}   (while it prints ${step.wait.while}, up to ${step.wait.seconds} s)`);
      continue;
    }
    lines.push(...stepLines(step));
  }
  return `${lines.join('\n')}\n`;
}

function doneWhen(step: Step): string {
  if (step.expect !== undefined) return `   (done when it prints ${[step.expect].flat().join(' or ')})`;
  if (step.compare !== undefined) return '   (done when it already holds the desired settings)';
  if (step.bound) return `   (done when it binds ${step.bound.member} to ${step.bound.role}; one read per policy)`;
  if (step.listed) return '   (done when it lists them all; otherwise only the missing ones)';
  return '';
}

function stepLines(step: Step): string[] {
  const lines: string[] = [];
  if (step.find) lines.push(`find:   ${commandLine(step.find)}${doneWhen(step)}`);
  const env = Object.entries(step.env ?? {}).map(([k, v]) => `${k}=${v} `).join('');
  lines.push(`${step.find ? 'create: ' : 'run:    '}${env}${commandLine(step.create)}${step.stdin ? ` < $${step.stdin}` : ''}`);
  if (step.update) lines.push(`update: ${commandLine(step.update)}`);
  return lines;
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

export interface CommandResult {
  ok: boolean;
  stdout: string;
  stderr: string;
}

function run(argv: string[], capture: boolean, stdin?: string, env?: Record<string, string>): CommandResult {
  const [command, ...args] = argv as [string, ...string[]];
  const result = spawnSync(command, args, { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8', input: stdin ?? '', stdio: ['pipe', capture ? 'pipe' : 'inherit', 'pipe'] });
  return { ok: result.status === 0, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
}

/**
 * What the executor runs commands and waits with; tests pass their own clock (nothing
 * depends on real time) and may answer commands in-process.
 */
export interface Machine {
  now(): number;
  sleep(seconds: number): void;
  run(argv: string[], capture: boolean, stdin?: string, env?: Record<string, string>): CommandResult;
}
export const runCommand = run;
const realMachine: Machine = { now: () => Date.now(), sleep: (seconds) => void spawnSync('sleep', [String(seconds)]), run };
const RETRY_PAUSE_SECONDS = 30;

/** Values the API leaves out of a resource when they are zero or the default. */
const OMITTED_DEFAULTS = new Set<unknown>([0, '', false, '0s', 'STRING']);

/** `found` (a resource as the API returns it) already holds every field of `desired`. */
export function covers(found: unknown, desired: unknown): boolean {
  if (Array.isArray(desired)) {
    if (found === undefined) return desired.length === 0;
    return Array.isArray(found) && found.length === desired.length && desired.every((d, i) => covers(found[i], d));
  }
  if (desired !== null && typeof desired === 'object') {
    if (found === undefined) return Object.values(desired).every((v) => covers(undefined, v));
    if (found === null || typeof found !== 'object' || Array.isArray(found)) return false;
    return Object.entries(desired).every(([k, v]) => covers((found as Record<string, unknown>)[k], v));
  }
  if (found === undefined) return OMITTED_DEFAULTS.has(desired);
  // Scalars: the API may show a number as a string (int64) and the reverse.
  const scalar = (v: unknown) => (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : null);
  return scalar(found) !== null && scalar(found) === scalar(desired);
}

/** What a `find` printed: nothing (absent), text, or JSON (a list's first element). */
function readFound(stdout: string): { exists: boolean; text: string; json: Record<string, unknown> | null } {
  const text = stdout.trim();
  let json: unknown;
  try {
    json = text.startsWith('{') || text.startsWith('[') ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  const first = Array.isArray(json) ? (json[0] as Record<string, unknown> | undefined) ?? null : (json as Record<string, unknown> | null);
  return { exists: text !== '' && !(Array.isArray(json) && json.length === 0), text, json: first };
}

/** A policy file whose conditions carry the ids of the found policy's conditions of the same name. */
export function withConditionIds(policyJson: string, found: Record<string, unknown>): string {
  const ids = new Map(((found.conditions ?? []) as { name?: string; displayName?: string }[]).map((c) => [c.displayName, c.name]));
  const policy = JSON.parse(policyJson) as { conditions: { displayName: string; name?: string }[] };
  const conditions = policy.conditions.map((c) => (ids.get(c.displayName) ? { name: ids.get(c.displayName), ...c } : c));
  return JSON.stringify({ ...policy, conditions }, null, 2);
}

export function deployHashOf(argv: string[], files: string[], extra: string): string {
  return createHash('sha256').update(JSON.stringify({ argv, files, extra })).digest('hex').slice(0, 16);
}

export function execute(plan: Plan, o: DeployOptions, machine: Machine = realMachine): void {
  const run: Machine['run'] = (...args) => machine.run(...args);
  const l = lookups(o);
  const memo = new Map<string, string>();
  const overrides = new Map<string, string>();
  const resolveOnce = (key: string, argv: string[]) => {
    if (!memo.has(key)) {
      const out = run(argv, true);
      if (!out.ok || out.stdout.trim() === '') throw new StepFailed(`could not resolve ${key}: ${out.stderr}`);
      memo.set(key, out.stdout.trim());
    }
    return memo.get(key)!;
  };
  const resolve = (text: string, found = '', hash = '{deployHash}'): string =>
    text
      .replace(/\{projectNumber\}/g, () => resolveOnce('projectNumber', l.projectNumber))
      .replace(/\{uri:(\w+)\}/g, (_, fn: string) => resolveOnce(`uri:${fn}`, l.uri(fn)))
      .replace(/\{secretVersion:([\w-]+)\}/g, (_, secret: string) => resolveOnce(`secretVersion:${secret}`, l.secretVersion(secret)))
      .replace(/\{channel\}/g, () => resolveOnce('channel', l.channel))
      .replace(/\{file:([\w.-]+)\}/g, (_, f: string) => writeConfigFile(f))
      .replace(/\{env:(\w+)\}/g, (_, v: string) => process.env[v] ?? '')
      .replace(/\{deployHash\}/g, hash)
      .replace(/\{found\}/g, found);
  // Written when first used: a policy file names the notification channel created just before.
  mkdirSync(join(ROOT, FILES_DIR), { recursive: true });
  const fileContent = (name: string) => resolve(overrides.get(name) ?? plan.files[name] ?? '');
  const writeConfigFile = (name: string) => {
    writeFileSync(join(ROOT, FILES_DIR, name), fileContent(name));
    return join(FILES_DIR, name);
  };
  // IAM policies: one read per resource and run, however many bindings are checked in it.
  const policies = new Map<string, string>();
  const look = (argv: string[], shared: boolean): string => {
    const key = argv.join(' ');
    if (shared && policies.has(key)) return policies.get(key)!;
    const out = run(argv, true);
    const text = out.ok ? out.stdout : '';
    if (shared) policies.set(key, text);
    return text;
  };
  const hashFor = (step: Step): string => {
    if (step.deployHash === undefined) return '{deployHash}';
    const argv = step.create.filter((a) => !a.includes('{deployHash}')).map((a) => resolve(a));
    const files = step.create.flatMap((a) => [...a.matchAll(/\{file:([\w.-]+)\}/g)].map((x) => fileContent(x[1]!)));
    return deployHashOf(argv, files, step.deployHash);
  };

  for (const step of plan.steps) {
    if (step.section) {
      console.log(`\n# ${step.section}`);
      continue;
    }
    if (step.wait) {
      waitWhile(step, (argv) => run(argv.map((a) => resolve(a)), true).stdout, machine);
      continue;
    }
    const hash = hashFor(step);
    const found = readFound(step.find ? look(step.find.map((a) => resolve(a)), step.bound !== undefined) : '');
    const name = typeof found.json?.name === 'string' ? found.json.name : found.text;
    if (found.exists && isAsWanted(step, found, (t) => resolve(t, name, hash))) {
      console.log(`  unchanged: ${commandLine(step.create.slice(0, 6))} …`);
      continue;
    }
    if (found.exists && step.keepConditionIds && found.json) overrides.set(step.keepConditionIds, withConditionIds(plan.files[step.keepConditionIds]!, found.json));
    const change = found.exists && step.update ? step.update : withoutListed(step, found);
    runWithRetry(step, change.map((a) => resolve(a, name, hash)), machine);
  }
}

/** Nothing to do: what `find` printed is what the step would make (or the step only creates, and it exists). */
function isAsWanted(step: Step, found: ReturnType<typeof readFound>, resolve: (text: string) => string): boolean {
  if (step.expect !== undefined) return (Array.isArray(step.expect) ? step.expect : [step.expect]).some((e) => found.text === resolve(e).trim());
  if (step.compare !== undefined) return found.json !== null && covers(found.json, JSON.parse(resolve(step.compare)));
  if (step.bound) return found.json !== null && bindsMember(found.json, resolve(step.bound.member), step.bound.role);
  if (step.listed) return step.listed.every((item) => listedIn(found.text, item));
  return !step.update;
}

const listedIn = (text: string, item: string) => text.split('\n').some((line) => line.trim() === item);

/** `create` without the `listed` items that `find` printed (all of them when it printed nothing). */
function withoutListed(step: Step, found: ReturnType<typeof readFound>): string[] {
  const listed = step.listed ?? [];
  return step.create.filter((arg) => !listed.includes(arg) || !listedIn(found.text, arg));
}

/** An IAM policy (as get-iam-policy prints it) binds `member` to `role` without a condition. */
export function bindsMember(policy: Record<string, unknown>, member: string, role: string): boolean {
  const bindings = (policy.bindings ?? []) as { role?: string; members?: string[]; condition?: unknown }[];
  return bindings.some((b) => b.role === role && b.condition === undefined && (b.members ?? []).includes(member));
}

function waitWhile(step: Step, look: (argv: string[]) => string, timing: Machine): void {
  const { wait } = step as Required<Pick<Step, 'wait'>>;
  const deadline = timing.now() + wait.seconds * 1000;
  while (new RegExp(wait.while).test(look(step.find!))) {
    if (timing.now() >= deadline) throw new StepFailed(`still waiting after ${wait.seconds} s: ${wait.why}`);
    console.log(`  (${wait.why}; looking again in ${RETRY_PAUSE_SECONDS} s)`);
    timing.sleep(RETRY_PAUSE_SECONDS);
  }
}

function runWithRetry(step: Step, argv: string[], timing: Machine): void {
  const deadline = timing.now() + (step.retry?.seconds ?? 0) * 1000;
  console.log(`  ${commandLine(argv)}`);
  for (;;) {
    const out = timing.run(argv, false, step.stdin ? process.env[step.stdin] : undefined, step.env);
    if (out.ok) return;
    if (step.retry && timing.now() < deadline && new RegExp(step.retry.when, 'i').test(out.stderr)) {
      console.log(`  (${step.retry.why}; retrying in ${RETRY_PAUSE_SECONDS} s)`);
      timing.sleep(RETRY_PAUSE_SECONDS);
      continue;
    }
    process.stderr.write(out.stderr);
    throw new StepFailed(`failed: ${commandLine(argv)}`);
  }
}

export const USAGE = `Usage (the OAuth client secret comes from the environment, never the command line):
  read -rs OAUTH_CLIENT_SECRET && export OAUTH_CLIENT_SECRET
  scripts/deploy.sh --project P --oauth-client-id ID --connect-return-url https://your.app/settings
    [--region us-central1] [--firestore-location nam5] [--alert-email ops@your.app]
    [--firebase-project-id ID] [--firebase-api-key KEY] [--connect-server-callers a@p.iam.gserviceaccount.com,…]
    [--connect-allowed-origins https://your.app,…] [--check | --dry-run]`;

type Mode = 'deploy' | 'dry-run' | 'check';

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): { options: Omit<DeployOptions, 'sourceHash' | 'firestoreHash'>; mode: Mode } {
  const { values } = parseArgs({
    args: argv,
    options: {
      project: { type: 'string' },
      region: { type: 'string', default: 'us-central1' },
      'oauth-client-id': { type: 'string' },
      'connect-return-url': { type: 'string' },
      'firestore-location': { type: 'string', default: 'nam5' },
      'alert-email': { type: 'string' },
      'firebase-project-id': { type: 'string', default: '' },
      'firebase-api-key': { type: 'string', default: '' },
      'connect-server-callers': { type: 'string', default: '' },
      'connect-allowed-origins': { type: 'string', default: '' },
      'dry-run': { type: 'boolean', default: false },
      check: { type: 'boolean', default: false },
    },
  });
  const mode: Mode = values.check ? 'check' : values['dry-run'] ? 'dry-run' : 'deploy';
  const missing = [
    !values.project && '--project',
    !values['oauth-client-id'] && '--oauth-client-id',
    !values['connect-return-url'] && '--connect-return-url',
    mode === 'deploy' && !env.OAUTH_CLIENT_SECRET && 'OAUTH_CLIENT_SECRET (environment)',
  ].filter(Boolean);
  if (missing.length > 0) throw new Error(`missing: ${missing.join(', ')}\n${USAGE}`);
  return {
    mode,
    options: {
      project: values.project!,
      region: values.region,
      oauthClientId: values['oauth-client-id']!,
      connectReturnUrl: values['connect-return-url']!,
      firestoreLocation: values['firestore-location'],
      alertEmail: values['alert-email'] ?? null,
      firebaseProjectId: values['firebase-project-id'],
      firebaseApiKey: values['firebase-api-key'],
      connectServerCallers: values['connect-server-callers'],
      connectAllowedOrigins: values['connect-allowed-origins'],
    },
  };
}

/** What the functions' deploy hash covers besides their command lines: the built package and its manifests. */
function sourceHash(): string {
  return hashTree(['functions/lib', 'functions/package.json', 'functions/package-lock.json'].map((p) => join(ROOT, p)));
}

export const DASHBOARD_FILE = 'infra/dashboards/sync-engine.json';
export const firestoreHash = (): string => hashTree(['firestore.rules', 'firestore.indexes.json'].map((p) => join(ROOT, p))).slice(0, 16);
export const planFor = (o: DeployOptions): Plan => planGcloud(buildManifest(), o, readFileSync(join(ROOT, DASHBOARD_FILE), 'utf8'));

async function main(): Promise<void> {
  const { options: parsed, mode } = parseOptions(process.argv.slice(2));
  if (mode === 'check') {
    const report = await preflight(parsed);
    process.stdout.write(report.text);
    if (!report.ok) process.exitCode = 1;
    return;
  }
  if (mode === 'deploy' && !run(['npm', 'run', 'build'], false).ok) throw new StepFailed('npm run build failed');
  // Hashed after the build, so the hash covers the package that is deployed.
  const built = { ...parsed, sourceHash: sourceHash(), firestoreHash: firestoreHash() };
  if (mode === 'dry-run') {
    process.stdout.write(formatPlan(planFor(built), built));
    return;
  }
  execute(planFor(built), built);
  console.log(`\nDone. Add https://${built.region}-${built.project}.cloudfunctions.net/connectCallback/callback as an authorized redirect URI of the OAuth client.`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
