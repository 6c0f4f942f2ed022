import { createLogger, withTrace } from '../../functions/src/logging';
import { parseCloudTraceContext, parseTraceparent, traceFromEvent, traceFromHeaders } from '../../functions/src/trace';
import { LOG_EVENTS } from '../../functions/src/observability/log-events';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

describe('trace headers', () => {
  test.each([
    [`00-${TRACE}-00f067aa0ba902b7-01`, { traceId: TRACE, spanId: '00f067aa0ba902b7', sampled: true }],
    [`00-${TRACE}-00f067aa0ba902b7-00`, { traceId: TRACE, spanId: '00f067aa0ba902b7', sampled: false }],
    [`ff-${TRACE}-00f067aa0ba902b7-01`, null],
    [`00-${'0'.repeat(32)}-00f067aa0ba902b7-01`, null],
    [`00-${TRACE}-${'0'.repeat(16)}-01`, null],
    [`00-${TRACE.toUpperCase()}-00f067aa0ba902b7-01`, null],
    ['garbage', null],
  ])('traceparent %s', (value, expected) => {
    expect(parseTraceparent(value)).toEqual(expected);
  });

  test.each([
    // The span id is decimal in X-Cloud-Trace-Context; Cloud Logging wants 16 hex digits.
    [`${TRACE}/1;o=1`, { traceId: TRACE, spanId: '0000000000000001', sampled: true }],
    [`${TRACE}/18446744073709551615;o=0`, { traceId: TRACE, spanId: 'ffffffffffffffff', sampled: false }],
    [`${TRACE}/18446744073709551616`, { traceId: TRACE, spanId: null, sampled: false }],
    [TRACE.toUpperCase(), { traceId: TRACE, spanId: null, sampled: false }],
    [`${TRACE}/12x`, null],
    ['0'.repeat(32), null],
  ])('X-Cloud-Trace-Context %s', (value, expected) => {
    expect(parseCloudTraceContext(value)).toEqual(expected);
  });

  test('traceparent wins over X-Cloud-Trace-Context; a bad traceparent falls back', () => {
    const other = 'a'.repeat(32);
    expect(traceFromHeaders({ traceparent: `00-${TRACE}-00f067aa0ba902b7-01`, 'x-cloud-trace-context': `${other}/5` })?.traceId).toBe(TRACE);
    expect(traceFromHeaders({ traceparent: 'nonsense', 'x-cloud-trace-context': `${other}/5` })?.traceId).toBe(other);
    expect(traceFromHeaders({})).toBeNull();
  });

  test('a CloudEvent carries its trace in the traceparent extension', () => {
    expect(traceFromEvent({ id: '1', traceparent: `00-${TRACE}-00f067aa0ba902b7-01` })?.spanId).toBe('00f067aa0ba902b7');
    expect(traceFromEvent({ id: '1', traceparent: 42 })).toBeNull();
  });
});

describe('log lines', () => {
  const capture = () => {
    const lines: Record<string, unknown>[] = [];
    return { lines, logger: createLogger((line) => lines.push(JSON.parse(line) as Record<string, unknown>)) };
  };

  test('every line inside an invocation carries its trace, also after awaits; none outside', async () => {
    const { lines, logger } = capture();
    await withTrace('proj', { traceId: TRACE, spanId: '00f067aa0ba902b7', sampled: true }, async () => {
      logger.info(LOG_EVENTS.syncRequestHandled);
      await new Promise((r) => setTimeout(r, 5));
      logger.warn(LOG_EVENTS.followUpFailed, { sourceId: 's1' });
    });
    logger.info(LOG_EVENTS.pruneFinished);
    expect(lines.slice(0, 2).map((l) => [l['logging.googleapis.com/trace'], l['logging.googleapis.com/spanId'], l['logging.googleapis.com/trace_sampled']])).toEqual([
      [`projects/proj/traces/${TRACE}`, '00f067aa0ba902b7', true],
      [`projects/proj/traces/${TRACE}`, '00f067aa0ba902b7', true],
    ]);
    expect(lines[2]).not.toHaveProperty(['logging.googleapis.com/trace']);
  });

  test('concurrent invocations keep their own trace', async () => {
    const { lines, logger } = capture();
    const run = (traceId: string, delay: number) =>
      withTrace('proj', { traceId, spanId: null, sampled: false }, async () => {
        await new Promise((r) => setTimeout(r, delay));
        logger.info(LOG_EVENTS.syncRequestHandled, { traceId });
      });
    await Promise.all([run('a'.repeat(32), 10), run('b'.repeat(32), 1)]);
    for (const line of lines) expect(line['logging.googleapis.com/trace']).toBe(`projects/proj/traces/${String(line.traceId)}`);
    expect(lines[0]).not.toHaveProperty(['logging.googleapis.com/spanId']);
  });

  test('lines below the minimum severity are not written; DEBUG by default writes every line', () => {
    const atInfo: Record<string, unknown>[] = [];
    const info = createLogger((line) => atInfo.push(JSON.parse(line) as Record<string, unknown>), {}, 'INFO');
    info.debug(LOG_EVENTS.followUpHandled, { sourceId: 's1' });
    info.info(LOG_EVENTS.pruneFinished);
    info.warn(LOG_EVENTS.followUpFailed, { sourceId: 's1' });
    info.error('gmail sync failed', { sourceId: 's1' });
    expect(atInfo.map((l) => l.severity)).toEqual(['INFO', 'WARNING', 'ERROR']);
    const { lines, logger } = capture();
    logger.debug(LOG_EVENTS.followUpHandled, { sourceId: 's1' });
    expect(lines.map((l) => l.severity)).toEqual(['DEBUG']);
  });

  test('ERROR lines are Error Reporting events; others are not', () => {
    const { lines, logger } = capture();
    logger.error('gmail sync failed', { sourceId: 's1', errorClass: 'internal' });
    logger.warn('gmail sync failed', { sourceId: 's1', errorClass: 'retryable' });
    expect(lines[0]).toMatchObject({
      severity: 'ERROR',
      message: 'gmail sync failed',
      '@type': 'type.googleapis.com/google.devtools.clouderrorreporting.v1beta1.ReportedErrorEvent',
    });
    expect(lines[1]).not.toHaveProperty(['@type']);
  });
});
