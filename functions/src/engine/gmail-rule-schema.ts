import * as z from 'zod';

/**
 * The Gmail intake rule's documents (part of the engine model): what the owner of a source
 * chose to become a task. `gmail/rule.ts` applies it.
 */

/** Gmail's inbox categories a rule may leave out (the `CATEGORY_<NAME>` labels). */
export const gmailCategorySchema = z.enum(['promotions', 'social', 'updates', 'forums']);
export type GmailCategory = z.infer<typeof gmailCategorySchema>;

/** What is a task: the mail carrying one label (a user label by its id). */
export const gmailSelectorSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('inbox') }),
  z.strictObject({ kind: z.literal('starred') }),
  z.strictObject({ kind: z.literal('important') }),
  z.strictObject({ kind: z.literal('label'), labelId: z.string().regex(/^[A-Za-z0-9_-]{1,100}$/, 'must be a Gmail label id') }),
]);
export type GmailSelector = z.infer<typeof gmailSelectorSchema>;

/** Categories, senders and domains a rule may exclude, together. */
export const MAX_RULE_EXCLUSIONS = 100;
const DOMAIN = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const lowered = z.string().trim().toLowerCase();

/** A source's Gmail intake rule: the selector, and what is left out even when it matches. */
export const gmailRuleSchema = z
  .strictObject({
    selector: gmailSelectorSchema,
    exclude: z
      .strictObject({
        categories: z.array(gmailCategorySchema).default([]),
        senders: z.array(lowered.pipe(z.email('must be an email address'))).default([]),
        domains: z.array(lowered.pipe(z.string().regex(DOMAIN, 'must be a domain name'))).default([]),
        /** Mail with a List-Unsubscribe header, or Precedence bulk or list. */
        bulk: z.boolean().default(false),
        /** Mail the account sent itself. */
        sent: z.boolean().default(false),
      })
      .default({ categories: [], senders: [], domains: [], bulk: false, sent: false }),
  })
  .refine((r) => r.exclude.categories.length + r.exclude.senders.length + r.exclude.domains.length <= MAX_RULE_EXCLUSIONS, {
    message: `at most ${MAX_RULE_EXCLUSIONS} exclusions (categories, senders and domains together)`,
    path: ['exclude'],
  });
export type GmailRule = z.infer<typeof gmailRuleSchema>;

/** The rule every source has until its owner sets one: the inbox, nothing left out. */
export const DEFAULT_GMAIL_RULE: GmailRule = {
  selector: { kind: 'inbox' },
  exclude: { categories: [], senders: [], domains: [], bulk: false, sent: false },
};

/** The rule as stored on the source; its version only grows (no rule stored: the default, version 0). */
export const storedGmailRuleSchema = z.object({
  version: z.number().int().positive(),
  rule: gmailRuleSchema,
  changedAt: z.date(),
  /** Why the rule cannot apply (its label was deleted): the source is degraded until a new rule. */
  problem: z.string().nullable().default(null),
});
export type StoredGmailRule = z.infer<typeof storedGmailRuleSchema>;

/**
 * A rule change being applied: first the new rule's label is walked newest-first back to the
 * backfill window (`walk`, `pageToken` the next messages.list page), then the open tasks
 * written before the walk began (`startedAt`: the change, until the walk's first pass) are
 * checked against it (`sweep`, `pageToken` the last task id
 * checked). Stored after each page, so the work resumes in the next pass.
 */
export const gmailRuleApplySchema = z.object({
  version: z.number().int().positive(),
  phase: z.enum(['walk', 'sweep']),
  /** The source's cursor when the walk began: the delta goes on from there once it is done. */
  cursor: z.string().regex(/^\d{1,20}$/).nullable().default(null),
  pageToken: z.string().nullable(),
  imported: z.number().int().nonnegative(),
  startedAt: z.date(),
});
export type GmailRuleApply = z.infer<typeof gmailRuleApplySchema>;
