/**
 * Figures for the Gmail intake rules (README, "What becomes a task"), on the local stack
 * (emulators, sandbox as Google, the functions in-process, the shipped configuration):
 *
 *   npx tsx scripts/rule-figures.ts [--messages 5000]
 *
 * 1. 100 incoming mails of which 5 are starred, under the `inbox` rule and under `starred`:
 *    notifications Gmail published and Google calls (and quota units) the engine made. Each
 *    mail is delivered 1.1 s apart on Google's clock (so each may be announced) and 100 ms
 *    apart in real time.
 * 2. A rule change (`starred` -> `inbox`) on a mailbox with `--messages` mails in the backfill
 *    window, none of them tasks before: time until it is applied and the Gmail quota units
 *    it used, at the shipped per-account budget (GMAIL_UNITS_PER_MINUTE, the limiter).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { newSource } from '../functions/src/engine/account/connect';
import { replaceRule } from '../functions/src/engine/account/rules';
import { registerWatches } from '../functions/src/engine/account/watches';
import { gmailRuleSchema } from '../functions/src/engine/gmail-rule-schema';
import { ruleReplaced } from '../functions/src/engine/source/rule-decisions';
import { ruleDeps } from '../functions/src/entry/rules';
import { DEFAULT_QUOTA } from '../sandbox/src/usage';
import { startLocalStack, type LocalStack } from './lib/local-stack';

const OUT_DIR = 'bench/rules';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const flag = (name: string, fallback: number) => {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : Number(process.argv[at + 1]);
};

async function connect(stack: LocalStack, id: string, email: string, rule: unknown): Promise<void> {
  const { refreshToken } = await stack.admin.createAccount(email);
  const now = stack.services.clock.now();
  await stack.services.sources.create(id, newSource(`user-${id}`, email, now));
  await stack.services.vault.store(id, refreshToken);
  await stack.services.sources.transition(id, now, ruleReplaced(gmailRuleSchema.parse(rule), now));
  await registerWatches(stack.services.watchDeps, id);
}

async function settled(stack: LocalStack, id: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (let quiet = 0; quiet < 3 && Date.now() < until; ) {
    const s = await stack.services.sources.get(id);
    quiet = s !== null && s.lease === null && s.pending.gmail === null && s.gmailRuleApply === null ? quiet + 1 : 0;
    await sleep(500);
  }
}

async function googleCost(stack: LocalStack, email: string): Promise<{ calls: Record<string, number>; units: number }> {
  const calls = (await stack.admin.stats()).calls[email] ?? {};
  const gmail = Object.entries(calls).filter(([method]) => method.startsWith('gmail.users.'));
  const units = gmail.reduce((sum, [method, n]) => sum + n * (DEFAULT_QUOTA.gmailCosts[method] ?? 5), 0);
  return { calls, units };
}

async function incomingMail(stack: LocalStack, selector: 'inbox' | 'starred') {
  const email = `incoming-${selector}@example.com`;
  await connect(stack, `incoming-${selector}`, email, { selector: { kind: selector } });
  await sleep(1200);
  await stack.admin.resetStats();
  let published = 0;
  for (let i = 0; i < 100; i += 1) {
    const starred = i % 20 === 19;
    const mail = await stack.admin.deliverMail(email, { subject: `mail ${i}`, labelIds: starred ? ['INBOX', 'UNREAD', 'STARRED'] : ['INBOX', 'UNREAD'] });
    if (mail.announced) published += 1;
    await stack.admin.advanceClock(1100);
    await sleep(100);
  }
  await settled(stack, `incoming-${selector}`, 60_000);
  const tasks = (await stack.services.tasks.listOpen(`user-incoming-${selector}`, `incoming-${selector}`, 'gmail')).length;
  return { selector, notificationsPublished: published, openTasks: tasks, ...(await googleCost(stack, email)) };
}

async function ruleChange(stack: LocalStack, messages: number) {
  const email = 'change@example.com';
  await connect(stack, 'change', email, { selector: { kind: 'starred' } });
  for (let i = 0; i < messages; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, messages - i) }, (_, k) => stack.admin.deliverMail(email, { subject: `old ${i + k}` })));
  }
  await settled(stack, 'change', 60_000);
  await stack.admin.resetStats();
  const started = Date.now();
  const result = await replaceRule(ruleDeps(stack.services), { sourceId: 'change', userId: 'user-change', body: { selector: { kind: 'inbox' } } });
  if (!result.ok) throw new Error(`the rule change was refused: ${JSON.stringify(result)}`);
  await settled(stack, 'change', 3 * 3_600_000);
  const seconds = (Date.now() - started) / 1000;
  const tasks = (await stack.services.tasks.listOpen('user-change', 'change', 'gmail')).length;
  return { messages, seconds, openTasks: tasks, unitsPerMinuteBudget: stack.config.limiter.gmailUnitsPerMinute, ...(await googleCost(stack, email)) };
}

async function main(): Promise<void> {
  mkdirSync(OUT_DIR, { recursive: true });
  const stack = await startLocalStack({ projectId: 'demo-rule-figures', scheduler: false, logFile: join(OUT_DIR, 'functions.log') });
  try {
    for (const selector of ['inbox', 'starred'] as const) console.log(JSON.stringify(await incomingMail(stack, selector)));
    console.log(JSON.stringify(await ruleChange(stack, flag('messages', 5000))));
  } finally {
    await stack.stop();
  }
}

void main();
