import type { SandboxAdmin } from '../../sandbox/src/admin-client';

/**
 * Delivers `count` messages 150 ms apart: faster than Gmail's one notification a second, so
 * only the burst's first message is announced and the rest is a tail nobody announces.
 */
export async function deliverBurst(admin: SandboxAdmin, email: string, count: number) {
  const burst = [];
  for (let i = 0; i < count; i += 1) {
    burst.push(await admin.deliverMail(email, { subject: `burst ${i}` }));
    await new Promise((r) => setTimeout(r, 150));
  }
  return burst;
}
