// Integration tests run inside `npm test` (scripts/test.ts), which starts the emulators.
for (const name of ['FIRESTORE_EMULATOR_HOST', 'PUBSUB_EMULATOR_HOST']) {
  if (!process.env[name]) {
    throw new Error(`${name} is not set: run integration tests with \`npm test\`, which starts the emulators.`);
  }
}
