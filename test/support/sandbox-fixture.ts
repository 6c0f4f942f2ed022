import { SandboxAdmin } from '../../sandbox/src/admin-client';
import { startSandbox, type RunningSandbox } from '../../sandbox/src/server';

/**
 * A sandbox started once for a test file and stopped after it, with its admin client. Read
 * the fields inside tests and hooks (they are set in `beforeAll`).
 */
export function useSandbox(options: Parameters<typeof startSandbox>[0] = {}): { sandbox: RunningSandbox; admin: SandboxAdmin } {
  const fixture = {} as { sandbox: RunningSandbox; admin: SandboxAdmin };
  beforeAll(async () => {
    fixture.sandbox = await startSandbox(options);
    fixture.admin = new SandboxAdmin(fixture.sandbox.url);
  });
  afterAll(() => fixture.sandbox.close());
  return fixture;
}
