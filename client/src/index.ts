/** @push-sync/client: what a host app needs to follow the sync engine. */
export * from './events';
export * from './verify-push';
export * from './connect';
export * from './live';
/** Kept equal to package.json's version (a test checks). */
export const CLIENT_VERSION = '1.0.0';
