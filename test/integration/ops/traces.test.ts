import { startEngineStack, type EngineStack } from '../../support/engine-stack';
import { waitFor } from '../../support/wait';

/**
 * Traces through the registered functions, as Cloud Run delivers them: an HTTP function gets
 * `X-Cloud-Trace-Context` / `traceparent`, an event function a CloudEvent with the
 * `traceparent` extension (binary mode: the `traceparent` header).
 */

let stack: EngineStack;
beforeAll(async () => {
  stack = await startEngineStack({ subscribeGmailPush: false });
});
afterAll(() => stack?.close());

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const parsedLines = () => stack.logLines.map((l) => JSON.parse(l) as Record<string, unknown>);

test('an HTTP job logs with the trace and span from X-Cloud-Trace-Context', async () => {
  const response = await fetch(stack.functionUrl('fallbackPoll'), { method: 'POST', headers: { 'X-Cloud-Trace-Context': `${TRACE}/255;o=1` } });
  expect(response.status).toBe(200);
  const line = parsedLines().find((l) => l.message === 'fallbackPoll fanned out');
  expect(line).toMatchObject({
    'logging.googleapis.com/trace': `projects/${stack.projectId}/traces/${TRACE}`,
    'logging.googleapis.com/spanId': '00000000000000ff',
    'logging.googleapis.com/trace_sampled': true,
  });
});

test('a failed sync in an event function logs one Error Reporting line carrying the CloudEvent trace', async () => {
  await stack.connect('src-trace', 'trace@example.com', 'user-trace');
  await stack.admin.revoke('trace@example.com');
  const request = { sourceId: 'src-trace', trigger: 'manual', gmail: true, calendar: false };
  const response = await fetch(`${stack.functionUrl('syncWorker')}/`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      'ce-id': 'trace-1',
      'ce-specversion': '1.0',
      'ce-type': 'google.cloud.pubsub.topic.v1.messagePublished',
      'ce-source': `//pubsub.googleapis.com/projects/${stack.projectId}/topics/sync-requests`,
      traceparent: `00-${TRACE}-00f067aa0ba902b7-01`,
    },
    body: JSON.stringify({ message: { data: Buffer.from(JSON.stringify(request)).toString('base64'), messageId: '1' } }),
  });
  expect(response.status).toBe(204);
  const failures = await waitFor(() => {
    const found = parsedLines().filter((l) => l.message === 'gmail sync failed' && l.sourceId === 'src-trace');
    return Promise.resolve(found.length > 0 && found);
  });
  expect(failures).toHaveLength(1);
  expect(failures[0]).toMatchObject({
    severity: 'ERROR',
    '@type': 'type.googleapis.com/google.devtools.clouderrorreporting.v1beta1.ReportedErrorEvent',
    'logging.googleapis.com/trace': `projects/${stack.projectId}/traces/${TRACE}`,
    'logging.googleapis.com/spanId': '00f067aa0ba902b7',
  });
  // Every line of that invocation is grouped with it.
  const ofSource = parsedLines().filter((l) => l.sourceId === 'src-trace');
  expect(ofSource.every((l) => l['logging.googleapis.com/trace'] === `projects/${stack.projectId}/traces/${TRACE}`)).toBe(true);
});
