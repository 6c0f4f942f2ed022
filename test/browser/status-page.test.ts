import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium, resultsDir } from '../support/browser';
import { MovableClock } from '../support/clock';
import { registerWatch, runJob, startEngineStack, type EngineStack } from '../support/engine-stack';
import { waitFor } from '../support/wait';

const clock = new MovableClock();
let stack: EngineStack;
let browser: Browser;

beforeAll(async () => {
  stack = await startEngineStack({ overrides: { clock } });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

test('the status page shows Active, then the polling banner without a reload, then Disconnected', async () => {
  const email = 'page@example.com';
  await stack.connect('src-page', email, 'user-page');
  expect((await registerWatch(stack, 'src-page')).status).toBe(200);
  await waitFor(async () => (await stack.services.sources.get('src-page'))!.lastPushAt !== null);

  const page = await browser.newPage();
  await page.goto(`${stack.functionUrl('sourceStatus')}/?userId=user-page`);
  const badge = page.locator('[data-source-id="src-page"] .badge');
  expect(await badge.textContent()).toBe('Active');
  expect(await page.locator('.email').textContent()).toBe(email);
  expect(await page.locator('.banner').count()).toBe(0);

  // The sandbox stops delivering pushes; mail arrives; a poll finds it.
  await stack.admin.setFaults({ push: { dropRate: 1 } });
  await new Promise((r) => setTimeout(r, 1100));
  await stack.admin.deliverMail(email, { subject: 'only a poll will see this' });
  clock.advance(11 * 60_000);
  await runJob(stack, 'fallbackPoll');
  await stack.settled('src-page');
  const navigations: string[] = [];
  page.on('framenavigated', (frame) => navigations.push(frame.url()));
  await page.locator('.banner').waitFor({ timeout: 15_000 });
  expect(await page.locator('.banner').textContent()).toContain('Falling back to polling');
  expect(await badge.textContent()).toBe('Degraded');
  expect(navigations).toEqual([]);
  await page.screenshot({ path: join(resultsDir(), 'status-page-polling.png'), fullPage: true });

  // The user revokes access; the next sync finds out.
  await stack.admin.revoke(email);
  clock.advance(11 * 60_000);
  await runJob(stack, 'fallbackPoll');
  await waitFor(async () => (await stack.services.sources.get('src-page'))!.status === 'disconnected');
  await page.locator('[data-status="disconnected"]').waitFor({ timeout: 15_000 });
  expect(await badge.textContent()).toBe('Disconnected');
  expect(await page.locator('.reason').textContent()).toMatch(/revoked/);
  expect(navigations).toEqual([]);
  await page.screenshot({ path: join(resultsDir(), 'status-page-disconnected.png'), fullPage: true });
  await stack.admin.setFaults({});
});
