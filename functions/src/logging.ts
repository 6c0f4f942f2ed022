import type { LogFields, Logger } from './engine/ports';

/**
 * Structured JSON lines on stdout, the shape Cloud Logging reads from Cloud Functions:
 * `severity` and `message` plus fields. Callers pass ids and counts, never tokens or bodies.
 */

type Severity = 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR';

export function createLogger(write: (line: string) => void = (line) => process.stdout.write(`${line}\n`), base: LogFields = {}): Logger {
  const emit = (severity: Severity) => (message: string, fields: LogFields = {}) => {
    write(JSON.stringify({ severity, message, ...base, ...fields, time: new Date().toISOString() }));
  };
  return { debug: emit('DEBUG'), info: emit('INFO'), warn: emit('WARNING'), error: emit('ERROR') };
}
