import { randomBytes } from 'node:crypto';
import { FIREBASE_CERTS_PATH, GOOGLE_CERTS_PATH } from '../../sandbox/src/identity-keys';
import { DEFAULT_OPTIONS } from '../../sandbox/src/world';

/**
 * The functions' configuration when the sandbox plays Google and everything runs on this
 * machine: the one place the local stack, the soak and the tests take it from.
 */
export function localFunctionEnv(options: { projectId: string; sandboxUrl: string; functionUrl: (name: string) => string }): Record<string, string> {
  const { projectId, sandboxUrl, functionUrl } = options;
  return {
    GOOGLE_CLOUD_PROJECT: projectId,
    OAUTH_CLIENT_ID: DEFAULT_OPTIONS.clientId,
    OAUTH_CLIENT_SECRET: DEFAULT_OPTIONS.clientSecret,
    GOOGLE_API_ROOT_URL: sandboxUrl,
    GOOGLE_OAUTH_TOKEN_URL: `${sandboxUrl}/token`,
    GOOGLE_OAUTH_AUTH_URL: `${sandboxUrl}/o/oauth2/v2/auth`,
    GOOGLE_OAUTH_REVOKE_URL: `${sandboxUrl}/revoke`,
    // Signed ID tokens are checked against the sandbox's loopback keys (never Google's).
    FIREBASE_AUTH_CERTS_URL: `${sandboxUrl}${FIREBASE_CERTS_PATH}`,
    GOOGLE_ID_TOKEN_CERTS_URL: `${sandboxUrl}${GOOGLE_CERTS_PATH}`,
    CONNECT_URL: functionUrl('connect'),
    GMAIL_TOPIC: `projects/${projectId}/topics/gmail-watch`,
    CALENDAR_PUSH_URL: functionUrl('calendarPush'),
    CONNECT_REDIRECT_URL: `${functionUrl('connectCallback')}/callback`,
    CONNECT_RETURN_URL: functionUrl('sourceStatus'),
    TOKEN_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    FOLLOW_UP_QUEUE: followUpQueue(projectId),
    FOLLOW_UP_URL: functionUrl('gmailFollowUp'),
    FOLLOW_UP_INVOKER: `tasks-invoker@${projectId}.iam.gserviceaccount.com`,
    CLOUD_TASKS_API_URL: sandboxUrl,
  };
}

const followUpQueue = (projectId: string) => `projects/${projectId}/locations/local/queues/gmail-follow-ups`;

/** Creates the follow-up queue in the sandbox's Cloud Tasks (the deployment creates the real one). */
export async function createFollowUpQueue(projectId: string, sandboxUrl: string): Promise<void> {
  const queue = followUpQueue(projectId);
  const parent = queue.slice(0, queue.indexOf('/queues/'));
  const response = await fetch(`${sandboxUrl}/v2/${parent}/queues`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: 'Bearer local' },
    body: JSON.stringify({ name: queue }),
  });
  if (!response.ok && response.status !== 409) throw new Error(`The sandbox refused the follow-up queue: ${response.status} ${await response.text()}`);
}
