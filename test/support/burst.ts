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

/**
 * Makes `change` while Gmail's notifications are lost: after a second's pause (so the change
 * is not a tail of an earlier one), with every push dropped until it is done.
 */
export async function withPushesLost(admin: SandboxAdmin, change: () => Promise<unknown>): Promise<void> {
  await admin.setFaults({ push: { dropRate: 1 } });
  await new Promise((r) => setTimeout(r, 1100));
  await change();
  await admin.drainPushes();
  await admin.setFaults({});
}
