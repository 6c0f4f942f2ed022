/**
 * `npm run replay -- --project P --subscription S [--dry-run] [--limit N]`: lists what sits in
 * a dead-letter subscription and re-publishes it to the topic it came from (scripts/lib/replay.ts).
 * Talks to the Pub/Sub emulator when PUBSUB_EMULATOR_HOST is set, else to Google with
 * Application Default Credentials. Exit 0: all done; 1: some messages stayed; 2: bad input.
 */
import { replayDeadLetters } from './lib/replay';
import { parseReplayArgs, ReplayArgsError } from './lib/replay-args';
import { pubsubRest } from './lib/replay-pubsub';

async function main(): Promise<number> {
  let options;
  try {
    options = parseReplayArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof ReplayArgsError)) throw error;
    console.error(error.message);
    return 2;
  }
  const pubsub = pubsubRest();
  console.log(`${options.dryRun ? 'Listing' : 'Replaying'} up to ${options.limit} messages from ${options.subscription} (${pubsub.endpoint})`);
  const outcome = await replayDeadLetters(pubsub, options, (line) => console.log(line));
  const done = options.dryRun
    ? `${outcome.listed} dead-lettered messages listed; nothing re-published (dry run).`
    : `${outcome.listed} listed, ${outcome.republished} re-published and acknowledged, ${outcome.failed} left in the subscription.`;
  console.log(done);
  return outcome.failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`replay failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
