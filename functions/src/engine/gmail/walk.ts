import type { Source } from '../model';
import { bump, fetchAll, type PageDeps, type PassCounts, type PassDeadline } from './pages';
import type { GmailApi, GmailMessageMetadata } from './ports';
import { listTaskMail, ruleOf } from './rule';

/**
 * The walk a resync and a rule change both make: the mail carrying the rule's deciding label,
 * newest first, a page at a time, each page's chosen messages fetched in batches that keep the
 * lease alive. The caller writes each page and says whether the walk has ended (and stores its
 * progress); the walk starts no new page after the pass's deadline.
 */

const WALK_PAGE_SIZE = 100;

export interface WalkPass {
  api: GmailApi;
  source: Source;
  owner: string;
  deadline: PassDeadline;
  counts: PassCounts;
}

export interface WalkedPage {
  ids: string[];
  /** The chosen messages that still exist. */
  fetched: GmailMessageMetadata[];
  nextPageToken: string | null;
}

export interface WalkSteps {
  /** The counter the listed ids are counted under. */
  listedKey: string;
  /** Which listed ids to fetch. */
  choose(ids: string[]): string[];
  /** Writes a page; `true` when the walk has ended. */
  onPage(page: WalkedPage): Promise<boolean>;
}

/** Walks from `pageToken`; `true` when the walk ended, `false` when handed on at the deadline. */
export async function walkTaskMail(deps: PageDeps, pass: WalkPass, pageToken: string | null, steps: WalkSteps): Promise<boolean> {
  const { api, source, owner, counts } = pass;
  let token = pageToken;
  for (let page = 0; ; page += 1) {
    if (page > 0 && pass.deadline.reached()) {
      bump(counts, 'budgetReached');
      return false;
    }
    const listed = await listTaskMail(api, ruleOf(source), token, WALK_PAGE_SIZE);
    bump(counts, steps.listedKey, listed.ids.length);
    const fetched = await fetchAll(deps, api, source, owner, steps.choose(listed.ids), counts);
    const existing = [...fetched.values()].filter((m): m is GmailMessageMetadata => m !== null);
    if (await steps.onPage({ ids: listed.ids, fetched: existing, nextPageToken: listed.nextPageToken })) return true;
    token = listed.nextPageToken;
  }
}
