import type { OAuth2Client } from 'google-auth-library';
import type { Config } from '../config';
import { CredentialsUnavailableError } from '../engine/errors';
import { PRIMARY_CALENDAR, type Source } from '../engine/model';
import type { calendar_v3 } from '@googleapis/calendar';
import type { CalendarApi } from '../engine/calendar/ports';
import type { GmailApi } from '../engine/gmail/ports';
import type { GoogleAccess } from '../engine/ports';
import type { SealedToken } from '../contracts/sealed-token';
import type { TokenSource } from '../secrets/refresh-tokens';
import { createAccountAuth, forgetAccessToken } from './auth';
import { CalendarAdapter } from './calendar';
import { GmailAdapter } from './gmail';
import { limitedCaller, type LimitedCall } from './limited-call';
import { AccountLimiter, type LimiterEnvironment, realEnvironment } from './limiter';
import { LruMap } from '../lru-map';

/** Where refresh tokens come from: sealed as stored, and opened (decrypted) on demand. */
export interface RefreshTokenSource {
  sealed(source: TokenSource): Promise<SealedToken>;
  open(source: TokenSource, sealed: SealedToken): Promise<string>;
}

interface AccountEntry {
  /** The stored token's ciphertext: the same ciphertext means the same token, no decrypt. */
  ciphertext: string;
  /** The source's `credentialsAt` when the token was read: while it is unchanged, no read either. */
  credentialsAt: Date | null;
  auth: OAuth2Client;
  limiter: AccountLimiter;
  /** Google answered invalid_grant: the next use reads and decrypts the token again. */
  revoked: boolean;
  gmail?: GmailApi;
  calendar?: calendar_v3.Calendar;
}

/** Accounts an instance keeps clients for; the least recently used beyond it are dropped. */
export const MAX_CACHED_ACCOUNTS = 500;

/**
 * Per-instance Google access for each source: one OAuth client (with its cached access
 * token and the decrypted refresh token) and one limiter shared by Gmail and Calendar, so
 * the per-account rate holds across both. Client libraries load on first use, keeping cold
 * starts lean.
 */
export class GoogleAccessPool implements GoogleAccess {
  /** Most recently used last: beyond `maxAccounts`, the least recently used are dropped. */
  private readonly accounts: LruMap<string, AccountEntry>;

  constructor(
    private readonly config: Pick<Config, 'oauth' | 'googleApiRootUrl' | 'limiter' | 'gmailMessagesGetUnits'>,
    private readonly tokens: RefreshTokenSource,
    private readonly environment: LimiterEnvironment = realEnvironment,
    maxAccounts = MAX_CACHED_ACCOUNTS,
    /** Told once per discovery that a source's token no longer decrypts (it disconnects the source). */
    private readonly onUnreadableToken: (source: Source) => Promise<void> = () => Promise.resolve(),
  ) {
    this.accounts = new LruMap(maxAccounts);
  }

  private async openToken(source: Source, sealed: SealedToken): Promise<string> {
    try {
      return await this.tokens.open(source, sealed);
    } catch (error) {
      if (error instanceof CredentialsUnavailableError && error.why === 'unreadable') await this.onUnreadableToken(source);
      throw error;
    }
  }

  private rootUrl(): string {
    const root = this.config.googleApiRootUrl ?? 'https://gmail.googleapis.com/';
    return root.endsWith('/') ? root : `${root}/`;
  }

  /** The account's entry; rebuilt when its stored token changed (a reconnect) or was refused. */
  private async account(source: Source): Promise<AccountEntry> {
    const cached = this.accounts.get(source.id);
    const usable = cached !== undefined && !cached.revoked ? cached : undefined;
    if (usable && sameStamp(usable.credentialsAt, source.credentialsAt)) return usable;
    const sealed = await this.tokens.sealed(source);
    if (usable && usable.ciphertext === sealed.ciphertext) {
      usable.credentialsAt = source.credentialsAt;
      return usable;
    }
    const entry: AccountEntry = {
      ciphertext: sealed.ciphertext,
      // Read after the source: a token replaced meanwhile is newer than this stamp, never older.
      credentialsAt: source.credentialsAt,
      auth: createAccountAuth(this.config.oauth, await this.openToken(source, sealed)),
      limiter: cached?.limiter ?? new AccountLimiter(this.config.limiter, this.environment),
      revoked: false,
    };
    this.accounts.set(source.id, entry);
    return entry;
  }

  private caller(entry: AccountEntry): LimitedCall {
    return limitedCaller(entry.limiter, {
      onUnauthorized: () => forgetAccessToken(entry.auth),
      onRevoked: () => (entry.revoked = true),
    });
  }

  limiterFor(sourceId: string): AccountLimiter | undefined {
    return this.accounts.get(sourceId)?.limiter;
  }

  cachedAccounts(): number {
    return this.accounts.size;
  }

  async gmail(source: Source): Promise<GmailApi> {
    const entry = await this.account(source);
    if (!entry.gmail) {
      const { gmail } = await import('@googleapis/gmail');
      const root = this.config.googleApiRootUrl === undefined ? {} : { rootUrl: this.rootUrl() };
      const client = gmail({ version: 'v1', auth: entry.auth, retry: false, fetchImplementation: fetch, ...root });
      entry.gmail = new GmailAdapter(client, this.caller(entry), { auth: entry.auth, rootUrl: this.rootUrl(), unitsPerGet: this.config.gmailMessagesGetUnits });
    }
    return entry.gmail;
  }

  warmGmail(sourceId: string, credentialsAt: Date): GmailApi | null {
    const entry = this.accounts.get(sourceId);
    if (entry === undefined || entry.revoked || !sameStamp(entry.credentialsAt, credentialsAt)) return null;
    return entry.gmail ?? null;
  }

  async calendar(source: Source, calendarId: string = PRIMARY_CALENDAR): Promise<CalendarApi> {
    const entry = await this.account(source);
    if (!entry.calendar) {
      const { calendar } = await import('@googleapis/calendar');
      const root = this.config.googleApiRootUrl === undefined ? {} : { rootUrl: this.rootUrl() };
      entry.calendar = calendar({ version: 'v3', auth: entry.auth, retry: false, fetchImplementation: fetch, ...root });
    }
    return new CalendarAdapter(entry.calendar, this.caller(entry), calendarId);
  }
}

/** Two stamps that say the same token; a source without one (older data) is always read. */
function sameStamp(a: Date | null, b: Date | null): boolean {
  return a !== null && b !== null && a.getTime() === b.getTime();
}
