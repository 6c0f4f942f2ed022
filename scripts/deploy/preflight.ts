/**
 * `scripts/deploy.sh --check`: looks at the project before anything is changed and reports
 * what would stop a deployment or leave it unusable: no billing account, an organisation
 * policy that refuses `allUsers` or Gmail's publisher, `nodejs24` not generally available in
 * the region, Firebase Authentication not set up where users sign in. It reads only.
 */
import { spawnSync } from 'node:child_process';
import type { DeployOptions } from './gcloud-plan';

type Options = Omit<DeployOptions, 'sourceHash' | 'firestoreHash'>;
export type Verdict = 'ok' | 'problem' | 'unknown';
export interface Finding {
  check: string;
  verdict: Verdict;
  detail: string;
}
export interface CommandResult {
  ok: boolean;
  stdout: string;
  stderr: string;
}
export interface PreflightDeps {
  gcloud(argv: string[]): CommandResult;
  getJson(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }>;
}

const GMAIL_PUBLISHER = 'gmail-api-push@system.gserviceaccount.com';
export const IDENTITY_TOOLKIT = 'https://identitytoolkit.googleapis.com';

/** The read-only gcloud commands the preflight runs (also parsed offline by the tests). */
export function preflightCommands(o: Pick<Options, 'project' | 'region'>) {
  const g = (...args: string[]) => ['gcloud', `--project=${o.project}`, '--quiet', ...args];
  return {
    billing: g('billing', 'projects', 'describe', o.project, '--format=value(billingEnabled)'),
    domains: g('resource-manager', 'org-policies', 'describe', 'iam.allowedPolicyMemberDomains', `--project=${o.project}`, '--effective', '--format=json'),
    members: g('org-policies', 'describe', 'iam.managed.allowedPolicyMembers', `--project=${o.project}`, '--effective', '--format=json'),
    runtime: g('functions', 'runtimes', 'list', `--region=${o.region}`, '--filter=name=nodejs24', '--format=value(stage)'),
    token: ['gcloud', 'auth', 'print-access-token'],
  };
}

const parse = (text: string): Record<string, unknown> => {
  try {
    return JSON.parse(text || '{}') as Record<string, unknown>;
  } catch {
    return {};
  }
};

export function judgeBilling(r: CommandResult): Finding {
  const check = 'billing account linked';
  if (!r.ok) return { check, verdict: 'unknown', detail: `could not read the billing info: ${r.stderr.trim().split('\n')[0] ?? ''}` };
  return r.stdout.trim() === 'True'
    ? { check, verdict: 'ok', detail: 'billing is enabled' }
    : { check, verdict: 'problem', detail: 'no billing account is linked: Cloud Functions, Cloud Build and Cloud Scheduler need one (Billing → Link a billing account)' };
}

/** The legacy domain-restriction constraint: a list policy that does not allow all values refuses allUsers and Gmail's publisher. */
export function judgeDomainPolicy(r: CommandResult): Finding {
  const check = 'organisation policy iam.allowedPolicyMemberDomains';
  if (!r.ok) return { check, verdict: 'unknown', detail: `could not read it: ${r.stderr.trim().split('\n')[0] ?? ''}` };
  const list = parse(r.stdout).listPolicy as { allValues?: string; allowedValues?: string[]; deniedValues?: string[] } | undefined;
  if (!list || list.allValues === 'ALLOW' || (!list.allowedValues && !list.deniedValues && list.allValues !== 'DENY')) return { check, verdict: 'ok', detail: 'not restricted for this project' };
  return { check, verdict: 'problem', detail: `restricted: the allUsers invokers of the public functions and ${GMAIL_PUBLISHER} on gmail-watch will be refused; ask for a project exception (docs/deployment.md, "Organisation policies")` };
}

/** The managed constraint: enforced, it must list allUsers and Gmail's publisher. */
export function judgeMemberPolicy(r: CommandResult): Finding {
  const check = 'organisation policy iam.managed.allowedPolicyMembers';
  if (!r.ok) return /NOT_FOUND|not found/i.test(r.stderr) ? { check, verdict: 'ok', detail: 'not set' } : { check, verdict: 'unknown', detail: `could not read it: ${r.stderr.trim().split('\n')[0] ?? ''}` };
  const rules = ((parse(r.stdout).spec as { rules?: { enforce?: boolean }[] } | undefined)?.rules ?? []).filter((rule) => rule.enforce === true);
  if (rules.length === 0) return { check, verdict: 'ok', detail: 'not enforced for this project' };
  const allowed = r.stdout.includes('allUsers') && r.stdout.includes(GMAIL_PUBLISHER);
  return allowed
    ? { check, verdict: 'ok', detail: `enforced, and allows allUsers and ${GMAIL_PUBLISHER}` }
    : { check, verdict: 'problem', detail: `enforced without allUsers and ${GMAIL_PUBLISHER}: add both to the project's allowed members (docs/deployment.md, "Organisation policies")` };
}

export function judgeRuntime(r: CommandResult, region: string): Finding {
  const check = `nodejs24 in ${region}`;
  if (!r.ok) return { check, verdict: 'unknown', detail: `could not list the runtimes (is cloudfunctions.googleapis.com enabled?): ${r.stderr.trim().split('\n')[0] ?? ''}` };
  const stage = r.stdout.trim();
  if (stage === 'GA') return { check, verdict: 'ok', detail: 'generally available' };
  return stage === ''
    ? { check, verdict: 'problem', detail: `nodejs24 is not offered in ${region}: choose another --region` }
    : { check, verdict: 'problem', detail: `nodejs24 is ${stage} in ${region}, not GA` };
}

export function judgeFirebaseAuth(status: number, body: string, firebaseProject: string): Finding {
  const check = `Firebase Authentication in ${firebaseProject}`;
  const config = parse(body) as { signIn?: Record<string, { enabled?: boolean }> };
  if (status === 200) {
    const enabled = Object.entries(config.signIn ?? {}).filter(([, p]) => p?.enabled).map(([name]) => name);
    // Identity providers such as Google are configured apart from these built-in methods.
    return { check, verdict: 'ok', detail: `configured${enabled.length > 0 ? ` (built-in sign-in: ${enabled.join(', ')})` : '; make sure the sign-in method your app uses is enabled'}` };
  }
  if (status === 404 || /CONFIGURATION_NOT_FOUND|SERVICE_DISABLED|has not been used|is disabled/.test(body)) {
    return { check, verdict: 'problem', detail: `not set up: add Firebase to ${firebaseProject} and enable Authentication, or pass --firebase-project-id of the project where your app's users sign in` };
  }
  return { check, verdict: 'unknown', detail: `the Identity Toolkit answered ${status}` };
}

export const OAUTH_TESTING_REMINDER =
  'reminder: an OAuth consent screen left in "Testing" issues refresh tokens that expire after 7 days, so every connected source would disconnect weekly: publish the app (In production) before real users connect; gmail.metadata is a restricted scope and needs Google\'s verification.';

const realDeps: PreflightDeps = {
  gcloud: (argv) => {
    const result = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
    return { ok: result.status === 0, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
  },
  getJson: async (url, headers) => {
    const response = await fetch(url, { headers });
    return { status: response.status, body: await response.text() };
  },
};

async function firebaseAuthFinding(o: Options, deps: PreflightDeps, token: CommandResult, base: string): Promise<Finding> {
  const firebaseProject = o.firebaseProjectId || o.project;
  if (!token.ok) return { check: `Firebase Authentication in ${firebaseProject}`, verdict: 'unknown', detail: 'no access token (gcloud auth login)' };
  // The quota project: user credentials are refused by this API without one.
  const answer = await deps.getJson(`${base}/admin/v2/projects/${firebaseProject}/config`, { Authorization: `Bearer ${token.stdout.trim()}`, 'x-goog-user-project': o.project });
  return judgeFirebaseAuth(answer.status, answer.body, firebaseProject);
}

export async function preflight(o: Options, deps: PreflightDeps = realDeps, identityToolkit = IDENTITY_TOOLKIT): Promise<{ ok: boolean; findings: Finding[]; text: string }> {
  const c = preflightCommands(o);
  const findings = [
    judgeBilling(deps.gcloud(c.billing)),
    judgeDomainPolicy(deps.gcloud(c.domains)),
    judgeMemberPolicy(deps.gcloud(c.members)),
    judgeRuntime(deps.gcloud(c.runtime), o.region),
    await firebaseAuthFinding(o, deps, deps.gcloud(c.token), identityToolkit),
  ];
  const mark: Record<Verdict, string> = { ok: 'ok     ', problem: 'PROBLEM', unknown: 'unknown' };
  const lines = findings.map((f) => `${mark[f.verdict]}  ${f.check}: ${f.detail}`);
  const ok = findings.every((f) => f.verdict !== 'problem');
  return { ok, findings, text: `${[...lines, OAUTH_TESTING_REMINDER, ok ? 'Nothing found that would stop a deployment.' : 'Fix the problems above before deploying.'].join('\n')}\n` };
}
