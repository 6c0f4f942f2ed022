import { AsyncLocalStorage } from 'node:async_hooks';
import type { LogFields, Logger } from './engine/ports';
import type { TraceContext } from './trace';

/**
 * Structured JSON lines on stdout, the shape Cloud Logging reads from Cloud Functions:
 * `severity` and `message` plus fields. Callers pass ids and counts, never tokens or bodies.
 * Every line written while an invocation runs carries that invocation's trace (set by
 * register.ts), so the Logs Explorer groups them; ERROR lines are typed as Error Reporting
 * events, so a failed sync shows up there without a stack trace of its own.
 */

export const SEVERITIES = ['DEBUG', 'INFO', 'WARNING', 'ERROR'] as const;
export type Severity = (typeof SEVERITIES)[number];

const REPORTED_ERROR_EVENT = 'type.googleapis.com/google.devtools.clouderrorreporting.v1beta1.ReportedErrorEvent';

const invocationFields = new AsyncLocalStorage<LogFields>();

/** Runs one invocation with its trace attached to every log line written inside it. */
export function withTrace<T>(projectId: string, trace: TraceContext | null, run: () => T): T {
  if (trace === null) return run();
  return invocationFields.run(
    {
      'logging.googleapis.com/trace': `projects/${projectId}/traces/${trace.traceId}`,
      ...(trace.spanId !== null && { 'logging.googleapis.com/spanId': trace.spanId }),
      'logging.googleapis.com/trace_sampled': trace.sampled,
    },
    run,
  );
}

/**
 * Lines below `minimum` are not written: Cloud Logging bills every line's bytes, and the
 * DEBUG lines (a look scheduled or handled, a request handled) are a large share of them.
 */
export function createLogger(write: (line: string) => void = (line) => process.stdout.write(`${line}\n`), base: LogFields = {}, minimum: Severity = 'DEBUG'): Logger {
  const written = (severity: Severity) => SEVERITIES.indexOf(severity) >= SEVERITIES.indexOf(minimum);
  const emit = (severity: Severity) => (message: string, fields: LogFields = {}) => {
    if (!written(severity)) return;
    write(
      JSON.stringify({
        severity,
        message,
        ...(severity === 'ERROR' && { '@type': REPORTED_ERROR_EVENT }),
        ...invocationFields.getStore(),
        ...base,
        ...fields,
        time: new Date().toISOString(),
      }),
    );
  };
  return { debug: emit('DEBUG'), info: emit('INFO'), warn: emit('WARNING'), error: emit('ERROR') };
}
