import { GoogleError } from '../../functions/src/engine/errors';
import { AccountLimiter, type LimiterEnvironment, type LimiterSettings } from '../../functions/src/google/limiter';

/** A virtual clock: sleeping advances time instantly, so rates can be checked exactly. */
function virtualEnvironment(random = 0.5): LimiterEnvironment & { sleeps: number[]; now: number } {
  const env = {
    now: 0,
    sleeps: [] as number[],
    nowMs: () => env.now,
    sleep: (ms: number) => {
      env.sleeps.push(ms);
      env.now += ms;
      return Promise.resolve();
    },
    random: () => random,
  };
  return env;
}

const settings: LimiterSettings = { ratePerSecond: 1, burst: 3, maxInFlight: 5, maxAttempts: 4, backoffBaseMs: 500, backoffMaxMs: 32_000, gmailUnitsPerMinute: 6000 };
const passThrough = (error: unknown) => (error instanceof GoogleError ? error : new GoogleError('bad-request', String(error)));

describe('AccountLimiter', () => {
  it('never exceeds the burst plus the sustained rate in any window', async () => {
    const env = virtualEnvironment();
    const limiter = new AccountLimiter(settings, env);
    const startedAt: number[] = [];
    await Promise.all(Array.from({ length: 20 }, () => limiter.run(() => Promise.resolve(startedAt.push(env.now)), passThrough)));
    expect(startedAt).toHaveLength(20);
    for (const t of startedAt) {
      const inWindow = startedAt.filter((s) => s >= t && s < t + 5000).length;
      expect(inWindow).toBeLessThanOrEqual(settings.burst + 5 * settings.ratePerSecond);
    }
    // 3 immediately from the burst, then one a second.
    expect(Math.max(...startedAt)).toBe(17_000);
  });

  it('keeps at most maxInFlight calls running', async () => {
    const limiter = new AccountLimiter({ ...settings, ratePerSecond: 1000, burst: 1000, maxInFlight: 2 });
    let running = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 8 }, () =>
        limiter.run(async () => {
          running += 1;
          peak = Math.max(peak, running);
          await new Promise((r) => setTimeout(r, 5));
          running -= 1;
        }, passThrough),
      ),
    );
    expect(peak).toBe(2);
    expect(limiter.stats.maxInFlightSeen).toBe(2);
  });

  it('retries transient errors with full-jitter backoff, honouring a longer Retry-After, and gives up after maxAttempts', async () => {
    const env = virtualEnvironment(0.5);
    const limiter = new AccountLimiter({ ...settings, burst: 100, ratePerSecond: 100 }, env);
    const failures = [
      new GoogleError('rate-limited', '429', { status: 429, retryAfterMs: 7000 }),
      new GoogleError('retryable', '503', { status: 503 }),
    ];
    let calls = 0;
    const result = await limiter.run(() => {
      calls += 1;
      const failure = failures.shift();
      return failure ? Promise.reject(failure) : Promise.resolve('ok');
    }, passThrough);
    expect(result).toBe('ok');
    expect(calls).toBe(3);
    // Attempt 1 → max(Retry-After 7000, jitter 0.5·500); attempt 2 → jitter 0.5·1000.
    expect(env.sleeps.filter((ms) => ms >= 250)).toEqual([7000, 500]);

    const always = new AccountLimiter({ ...settings, burst: 100, ratePerSecond: 100 }, virtualEnvironment());
    let attempts = 0;
    await expect(
      always.run(() => {
        attempts += 1;
        return Promise.reject(new GoogleError('retryable', '500', { status: 500 }));
      }, passThrough),
    ).rejects.toMatchObject({ kind: 'retryable' });
    expect(attempts).toBe(settings.maxAttempts);
  });

  it('does not retry permanent errors', async () => {
    const limiter = new AccountLimiter(settings, virtualEnvironment());
    let attempts = 0;
    await expect(
      limiter.run(() => {
        attempts += 1;
        return Promise.reject(new GoogleError('auth-revoked', 'invalid_grant'));
      }, passThrough),
    ).rejects.toMatchObject({ kind: 'auth-revoked' });
    expect(attempts).toBe(1);
  });

  it('caps the jittered backoff at backoffMaxMs', () => {
    const limiter = new AccountLimiter(settings, virtualEnvironment(0.999));
    expect(limiter.backoff(20, undefined)).toBeLessThan(settings.backoffMaxMs);
    expect(limiter.backoff(1, undefined)).toBeLessThan(settings.backoffBaseMs);
  });
});

describe('AccountLimiter: Gmail quota units', () => {
  it('never spends more than the per-minute budget in any sliding minute', async () => {
    const env = virtualEnvironment();
    const limiter = new AccountLimiter({ ...settings, ratePerSecond: 1000, burst: 1000, gmailUnitsPerMinute: 6000 }, env);
    const startedAt: number[] = [];
    // 20-part batches of messages.get at 20 units each: 400 units a request.
    await Promise.all(Array.from({ length: 40 }, () => limiter.run(() => Promise.resolve(startedAt.push(env.now)), passThrough, 400)));
    for (const t of startedAt) {
      const inMinute = startedAt.filter((s) => s > t - 60_000 && s <= t).length;
      expect(inMinute * 400).toBeLessThanOrEqual(6000);
    }
    expect(limiter.stats.units).toBe(40 * 400);
    // 15 requests fit a minute: the 40th waits two minutes.
    expect(Math.max(...startedAt)).toBeGreaterThanOrEqual(120_000);
  });

  it('refuses a request larger than the whole budget instead of waiting forever', async () => {
    const limiter = new AccountLimiter(settings, virtualEnvironment());
    await expect(limiter.run(() => Promise.resolve(1), passThrough, 6001)).rejects.toThrow(/can never fit/);
  });

  it('costs nothing for calls without units (Calendar)', async () => {
    const env = virtualEnvironment();
    const limiter = new AccountLimiter({ ...settings, ratePerSecond: 1000, burst: 1000, gmailUnitsPerMinute: 100 }, env);
    await Promise.all(Array.from({ length: 50 }, () => limiter.run(() => Promise.resolve(1), passThrough)));
    expect(env.now).toBeLessThan(1000);
  });
});
