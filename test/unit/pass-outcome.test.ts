import { GoogleError } from '../../functions/src/engine/errors';
import type { Source } from '../../functions/src/engine/model';
import { afterPass } from '../../functions/src/engine/source/pass-outcome';
import { DEFAULT_STATUS_SETTINGS } from '../../functions/src/engine/source/status';
import { sourceData } from '../support/builders';

const now = new Date('2026-11-25T10:00:00Z');
const connectedAt = new Date('2026-11-25T09:00:00Z');
const source = (credentialsAt: Date): Source => ({ id: 's', ...sourceData({ credentialsAt }) });
const revoked = (credentialsAt: Date) => ({ ok: false as const, error: new GoogleError('auth-revoked', 'invalid_grant', { status: 400, reason: 'invalid_grant' }), credentialsAt });

describe('afterPass', () => {
  it('disconnects a source whose current credentials Google refused', () => {
    expect(afterPass(source(connectedAt), revoked(connectedAt), { trigger: 'push' }, now, DEFAULT_STATUS_SETTINGS)).toMatchObject({ status: 'disconnected' });
  });

  it('leaves a source alone when the refused credentials were replaced during the pass (a reconnect)', () => {
    const reconnected = source(new Date('2026-11-25T09:59:59Z'));
    expect(afterPass(reconnected, revoked(connectedAt), { trigger: 'push' }, now, DEFAULT_STATUS_SETTINGS)).toBe(reconnected);
  });
});
