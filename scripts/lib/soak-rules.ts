import type { AccountTruth, IncomingMail } from '../../sandbox/src/admin-client';

/**
 * Gmail intake rules in the soak: each source gets one of these, some change mid-run, and the
 * ground truth decides which messages are tasks by its own reading of the rule (written here
 * from the README, not the engine's code).
 */

export interface SoakRule {
  selector: { kind: 'inbox' } | { kind: 'starred' };
  exclude: { categories: ('promotions' | 'social' | 'updates' | 'forums')[]; bulk: boolean };
}

export const SOAK_RULES: readonly SoakRule[] = [
  { selector: { kind: 'inbox' }, exclude: { categories: [], bulk: false } },
  { selector: { kind: 'starred' }, exclude: { categories: [], bulk: false } },
  { selector: { kind: 'inbox' }, exclude: { categories: ['promotions'], bulk: true } },
  { selector: { kind: 'starred' }, exclude: { categories: [], bulk: true } },
];

/** The mail the soak delivers: plain, starred, a promotion, a newsletter, bulk. */
export const SOAK_MAIL: readonly Omit<IncomingMail, 'subject'>[] = [
  {},
  {},
  { labelIds: ['INBOX', 'UNREAD', 'STARRED'] },
  { category: 'promotions' },
  { labelIds: ['INBOX', 'UNREAD', 'STARRED'], headers: [{ name: 'List-Unsubscribe', value: '<mailto:leave@example.com>' }] },
  { headers: [{ name: 'Precedence', value: 'bulk' }] },
];

const SELECTOR_LABEL = { inbox: 'INBOX', starred: 'STARRED' } as const;

/** Whether the message should be an open task under the rule (the ground truth's own reading). */
export function truthIsTask(rule: SoakRule, message: AccountTruth['messages'][number]): boolean {
  const labels = message.labelIds;
  if (message.deleted || !labels.includes(SELECTOR_LABEL[rule.selector.kind])) return false;
  if (labels.includes('SPAM') || labels.includes('TRASH')) return false;
  if (rule.exclude.categories.some((c) => labels.includes(`CATEGORY_${c.toUpperCase()}`))) return false;
  const header = (name: string) => message.headers.find((h) => h.name.toLowerCase() === name)?.value.trim().toLowerCase();
  const bulk = header('list-unsubscribe') !== undefined || ['bulk', 'list'].includes(header('precedence') ?? '');
  return !(rule.exclude.bulk && bulk);
}

/** Sets a source's rule through the connect function's route, again while Google's faults refuse it. */
export async function putRule(connectUrl: string, idToken: string, sourceId: string, rule: SoakRule): Promise<void> {
  let status = 0;
  for (let attempt = 0; attempt < 8 && status !== 200; attempt += 1) {
    const response = await fetch(`${connectUrl}/rules?sourceId=${encodeURIComponent(sourceId)}`, {
      method: 'PUT',
      headers: { Authorization: `Bearer ${idToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(rule),
    }).catch(() => null);
    status = response?.status ?? 0;
    if (status !== 200) await new Promise((r) => setTimeout(r, 300));
  }
  if (status !== 200) throw new Error(`PUT /rules for ${sourceId} answered ${status}`);
}
