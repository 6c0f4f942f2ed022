import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { isGoogleError } from '../errors';
import type { NewChannel, Source } from '../model';
import type { ChannelRequest, ChannelStore } from '../calendar/ports';
import { ruleOf, watchLabels } from '../gmail/rule';
import { recordMissingRuleLabel } from '../gmail/rule-label';
import type { Clock, GoogleAccess } from '../ports';
import type { SecretStore } from './ports';
import type { SourceStore } from '../source/ports';
import { calendarListChannelOpened, calendarListChannelStopped, channelOpened, watchRegistered, type ChannelRef } from '../source/decisions';
import { syncedCalendars, watchesCalendarList } from '../calendar/state';
import type { StatusSettings } from '../source/status';

export class SourceUnavailableError extends Error {
  constructor(readonly sourceId: string, readonly why: 'missing' | 'disconnected') {
    super(`Source ${sourceId} is ${why}`);
    this.name = 'SourceUnavailableError';
  }
}

export interface WatchDeps {
  sources: SourceStore;
  google: GoogleAccess;
  channels: ChannelStore;
  secrets: SecretStore;
  clock: Clock;
  gmailTopic: string;
  calendarPushUrl: string;
  /** Lifetime asked for new Calendar channels. */
  channelTtlSeconds: number;
  statusSettings: StatusSettings;
}

export function hashChannelToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

async function usableSource(deps: Pick<WatchDeps, 'sources'>, sourceId: string): Promise<Source> {
  const source = await deps.sources.get(sourceId);
  if (!source) throw new SourceUnavailableError(sourceId, 'missing');
  if (source.status === 'disconnected') throw new SourceUnavailableError(sourceId, 'disconnected');
  return source;
}

/**
 * The watch belongs to the mailbox: it asks for the deciding label of every live source on it
 * (each user connected to the mailbox may have a rule of their own).
 */
async function mailboxWatchLabels(deps: Pick<WatchDeps, 'sources'>, source: Source): Promise<string[]> {
  const onMailbox = (await deps.sources.findByEmail(source.email)).filter((s) => s.id !== source.id && s.status !== 'disconnected');
  return [...new Set([source, ...onMailbox].flatMap((s) => watchLabels(ruleOf(s))))];
}

/**
 * Registers (or re-registers) the Gmail watch on the label the source's rule decides by. The watch's history id becomes the
 * cursor only when the source has none: moving an existing cursor forward here would skip
 * changes that no run has synced yet.
 */
export async function registerGmailWatch(deps: WatchDeps, sourceId: string): Promise<Source> {
  const source = await usableSource(deps, sourceId);
  const gmail = await deps.google.gmail(source);
  // No watch on a label that is gone: the source says why it is degraded instead.
  const missing = await recordMissingRuleLabel(deps, gmail, source, deps.clock.now());
  if (missing !== null) return missing;
  const watch = await gmail.watch(deps.gmailTopic, await mailboxWatchLabels(deps, source));
  const now = deps.clock.now();
  return deps.sources.transition(sourceId, now, watchRegistered({ id: randomUUID(), ...watch }, now));
}

/**
 * Opens a push channel with its own random token (only the hash is kept) and indexes it. The
 * index entry and the hash exist before Google is asked, because the first notification
 * (`sync`) may arrive before the watch call returns.
 */
async function openChannel(deps: WatchDeps, sourceId: string, watched: Pick<NewChannel, 'calendarId' | 'watches'>, watch: (request: ChannelRequest) => Promise<{ resourceId: string; expiration: Date }>): Promise<ChannelRef & { expiration: Date }> {
  const channelId = randomUUID();
  const token = randomBytes(32).toString('base64url');
  const indexed = { sourceId, ...watched, confirmedAt: null, createdAt: deps.clock.now() };
  await deps.secrets.addChannelTokenHash(sourceId, channelId, hashChannelToken(token));
  await deps.channels.put(channelId, { ...indexed, resourceId: null });
  let opened: { resourceId: string; expiration: Date };
  try {
    opened = await watch({ id: channelId, address: deps.calendarPushUrl, token, ttlSeconds: deps.channelTtlSeconds });
  } catch (error) {
    await deps.channels.delete(channelId);
    await deps.secrets.removeChannelTokenHash(sourceId, channelId);
    throw error;
  }
  await deps.channels.put(channelId, { ...indexed, resourceId: opened.resourceId });
  return { id: channelId, ...opened };
}

/**
 * Opens a new channel on one calendar. Returns the source and the channel it replaced, if
 * any, which the caller stops once this one exists.
 */
export async function openCalendarChannel(deps: WatchDeps, sourceId: string, calendarId: string): Promise<{ source: Source; replaced: ChannelRef | null }> {
  const source = await usableSource(deps, sourceId);
  const calendar = await deps.google.calendar(source, calendarId);
  const opened = await openChannel(deps, sourceId, { calendarId }, (request) => calendar.watch(request));
  return deps.sources.transition(sourceId, deps.clock.now(), channelOpened(calendarId, opened));
}

/** Stops a channel at Google and forgets it; a channel Google no longer knows is already stopped. */
export async function closeCalendarChannel(deps: WatchDeps, source: Source, channel: { id: string; resourceId: string }): Promise<void> {
  const calendar = await deps.google.calendar(source);
  try {
    await calendar.stopChannel(channel.id, channel.resourceId);
  } catch (error) {
    if (!isGoogleError(error, 'not-found')) throw error;
  }
  await deps.channels.delete(channel.id);
  await deps.secrets.removeChannelTokenHash(source.id, channel.id);
}

/** A new channel on a calendar, then the one it replaces stopped (both deliver meanwhile: harmless). */
export async function replaceCalendarChannel(deps: WatchDeps, sourceId: string, calendarId: string): Promise<Source> {
  const { source, replaced } = await openCalendarChannel(deps, sourceId, calendarId);
  if (replaced) await closeCalendarChannel(deps, source, replaced);
  return source;
}

/**
 * The calendar list's channel as the choice needs it (`watchesCalendarList`): opened when
 * missing or `due` (the old one stopped once the new one exists), stopped when not needed.
 * Its pushes re-check the list (`reconcileCalendarList`). True when it opened or stopped one.
 */
export async function keepCalendarListWatch(deps: WatchDeps, sourceId: string, due: (expiration: Date | null) => boolean = () => false): Promise<boolean> {
  const source = await usableSource(deps, sourceId);
  const stored = source.calendarListChannel;
  if (!watchesCalendarList(source)) {
    if (stored === null) return false;
    await closeCalendarChannel(deps, source, stored);
    await deps.sources.transition(sourceId, deps.clock.now(), calendarListChannelStopped(stored.id));
    return true;
  }
  if (stored !== null && !due(stored.expiration)) return false;
  const calendar = await deps.google.calendar(source);
  const opened = await openChannel(deps, sourceId, { watches: 'calendarList' }, (request) => calendar.watchCalendarList(request));
  const { replaced } = await deps.sources.transition(sourceId, deps.clock.now(), calendarListChannelOpened(opened));
  if (replaced) await closeCalendarChannel(deps, source, replaced);
  return true;
}

/**
 * The Gmail watch, a new channel on every synced calendar and on the calendar list (when the
 * choice needs one), as `registerWatch` and the connect flow set them: a reconnect after a
 * revocation replaces channels that may have died with the old grant.
 */
export async function registerWatches(deps: WatchDeps, sourceId: string): Promise<Source> {
  let source = await registerGmailWatch(deps, sourceId);
  for (const calendarId of syncedCalendars(source)) source = await replaceCalendarChannel(deps, sourceId, calendarId);
  return (await keepCalendarListWatch(deps, sourceId, () => true)) ? ((await deps.sources.get(sourceId)) ?? source) : source;
}
