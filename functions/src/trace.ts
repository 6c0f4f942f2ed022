/**
 * The trace an invocation belongs to, from what Google's front ends send: W3C `traceparent`
 * (`00-<32 hex trace>-<16 hex span>-<flags>`), or the older `X-Cloud-Trace-Context`
 * (`<32 hex trace>/<decimal span>;o=<0|1>`). Cloud Logging groups an invocation's lines by
 * `logging.googleapis.com/trace` and wants the span id as 16 hex digits.
 */

export interface TraceContext {
  traceId: string;
  spanId: string | null;
  sampled: boolean;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const CLOUD_TRACE = /^([0-9a-fA-F]{32})(?:\/(\d{1,20}))?(?:;o=([01]))?$/;
const ZERO = /^0+$/;

export function parseTraceparent(value: string): TraceContext | null {
  const match = TRACEPARENT.exec(value.trim());
  if (!match) return null;
  const [, version, traceId, spanId, flags] = match as unknown as [string, string, string, string, string];
  // Version ff is forbidden; all-zero ids are invalid (W3C Trace Context, section 3.2).
  if (version === 'ff' || ZERO.test(traceId) || ZERO.test(spanId)) return null;
  return { traceId, spanId, sampled: (parseInt(flags, 16) & 1) === 1 };
}

export function parseCloudTraceContext(value: string): TraceContext | null {
  const match = CLOUD_TRACE.exec(value.trim());
  if (!match || ZERO.test(match[1]!)) return null;
  const span = match[2] === undefined ? null : BigInt(match[2]);
  const spanId = span === null || span === 0n || span >= 2n ** 64n ? null : span.toString(16).padStart(16, '0');
  return { traceId: match[1]!.toLowerCase(), spanId, sampled: match[3] === '1' };
}

type Headers = Record<string, string | string[] | undefined>;

const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

/** An HTTP request's trace: `traceparent` wins, `X-Cloud-Trace-Context` is the fallback. */
export function traceFromHeaders(headers: Headers): TraceContext | null {
  const traceparent = first(headers.traceparent);
  const cloud = first(headers['x-cloud-trace-context']);
  return (traceparent && parseTraceparent(traceparent)) || (cloud && parseCloudTraceContext(cloud)) || null;
}

/** A CloudEvent's trace: its `traceparent` extension (the Functions Framework copies the header there). */
export function traceFromEvent(event: object): TraceContext | null {
  const traceparent: unknown = (event as Record<string, unknown>).traceparent;
  return typeof traceparent === 'string' ? parseTraceparent(traceparent) : null;
}
