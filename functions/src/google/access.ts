import type { OAuth2Client } from 'google-auth-library';
import type { Config } from '../config';
import { CredentialsUnavailableError } from '../engine/errors';
import type { Source } from '../engine/model';
import type { CalendarApi, GmailApi, GoogleAccess } from '../engine/ports';
import { createAccountAuth, forgetAccessToken } from './auth';
import { CalendarAdapter } from './calendar';
import { GmailAdapter } from './gmail';
import { limitedCaller, type LimitedCall } from './limited-call';
import { AccountLimiter, type LimiterEnvironment, realEnvironment } from './limiter';

export interface RefreshTokenSource {
  load(source: Pick<Source, 'id' | 'userId'>): Promise<string>;
}

interface AccountEntry {
  refreshToken: string;
  auth: OAuth2Client;
  limiter: AccountLimiter;
  gmail?: GmailApi;
  calendar?: CalendarApi;
}

/**
 * Per-instance Google access for each source: one OAuth client (with its cached access
 * token) and one limiter shared by Gmail and Calendar, so the per-account rate holds
 * across both. Client libraries load on first use, keeping cold starts lean.
 */
export class GoogleAccessPool implements GoogleAccess {
  private readonly accounts = new Map<string, AccountEntry>();

  constructor(
    private readonly config: Pick<Config, 'oauth' | 'googleApiRootUrl' | 'limiter'>,
    private readonly tokens: RefreshTokenSource,
    private readonly environment: LimiterEnvironment = realEnvironment,
    /** Told once per discovery that a source's token no longer decrypts (it disconnects the source). */
    private readonly onUnreadableToken: (source: Source) => Promise<void> = () => Promise.resolve(),
  ) {}

  private async loadToken(source: Source): Promise<string> {
    try {
      return await this.tokens.load(source);
    } catch (error) {
      if (error instanceof CredentialsUnavailableError && error.why === 'unreadable') await this.onUnreadableToken(source);
      throw error;
    }
  }

  private rootUrl(): { rootUrl?: string } {
    const root = this.config.googleApiRootUrl;
    return root === undefined ? {} : { rootUrl: root.endsWith('/') ? root : `${root}/` };
  }

  /** The account's entry; rebuilt when its refresh token changed (a reconnect). */
  private async account(source: Source): Promise<AccountEntry> {
    const refreshToken = await this.loadToken(source);
    const existing = this.accounts.get(source.id);
    if (existing && existing.refreshToken === refreshToken) return existing;
    const entry: AccountEntry = {
      refreshToken,
      auth: createAccountAuth(this.config.oauth, refreshToken),
      limiter: existing?.limiter ?? new AccountLimiter(this.config.limiter, this.environment),
    };
    this.accounts.set(source.id, entry);
    return entry;
  }

  private caller(entry: AccountEntry): LimitedCall {
    return limitedCaller(entry.limiter, () => forgetAccessToken(entry.auth));
  }

  limiterFor(sourceId: string): AccountLimiter | undefined {
    return this.accounts.get(sourceId)?.limiter;
  }

  async gmail(source: Source): Promise<GmailApi> {
    const entry = await this.account(source);
    if (!entry.gmail) {
      const { gmail } = await import('@googleapis/gmail');
      const client = gmail({ version: 'v1', auth: entry.auth, retry: false, fetchImplementation: fetch, ...this.rootUrl() });
      entry.gmail = new GmailAdapter(client, this.caller(entry));
    }
    return entry.gmail;
  }

  async calendar(source: Source): Promise<CalendarApi> {
    const entry = await this.account(source);
    if (!entry.calendar) {
      const { calendar } = await import('@googleapis/calendar');
      const client = calendar({ version: 'v3', auth: entry.auth, retry: false, fetchImplementation: fetch, ...this.rootUrl() });
      entry.calendar = new CalendarAdapter(client, this.caller(entry));
    }
    return entry.calendar;
  }
}
