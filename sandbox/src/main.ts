/** `npm run sandbox`: the sandbox alone, on SANDBOX_PORT (default: a free port). */
import * as z from 'zod';
import { startSandbox } from './server';

const env = z
  .object({
    SANDBOX_PORT: z.coerce.number().int().min(0).max(65535).default(0),
    SANDBOX_SEED: z.coerce.number().int().default(1),
    PUBSUB_EMULATOR_HOST: z.string().optional(),
  })
  .parse(process.env);

async function main() {
  const sandbox = await startSandbox({ port: env.SANDBOX_PORT, seed: env.SANDBOX_SEED, pubsubEmulatorHost: env.PUBSUB_EMULATOR_HOST });
  console.log(`Sandbox (Gmail, Calendar, OAuth) listening on ${sandbox.url}`);
  console.log(`  admin API: ${sandbox.url}/_admin (see sandbox/README.md)`);
  if (!env.PUBSUB_EMULATOR_HOST) console.log('  PUBSUB_EMULATOR_HOST is not set: Gmail watches cannot deliver notifications.');
  const stop = () => void sandbox.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

void main();
