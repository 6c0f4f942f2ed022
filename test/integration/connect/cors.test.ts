import { idTokenFor } from '../../support/connect';
import { startEngineStack, type EngineStack } from '../../support/engine-stack';

/** A host app's page on its own origin calls the Bearer routes with fetch: CORS for the allowed origins only. */

const APP_ORIGIN = 'http://127.0.0.1:9'; // the return URL's origin (test/support/engine-stack)
let stack: EngineStack;
beforeAll(async () => {
  stack = await startEngineStack();
});
afterAll(() => stack.close());

const preflight = (route: string, origin: string, method = 'POST') =>
  fetch(`${stack.functionUrl('connect')}/${route}`, { method: 'OPTIONS', headers: { Origin: origin, 'Access-Control-Request-Method': method, 'Access-Control-Request-Headers': 'authorization,content-type' } });

test('a preflight from the app origin is answered for the Bearer routes, with the route method and the Authorization header', async () => {
  for (const [route, method] of [['link', 'POST'], ['confirm', 'POST'], ['disconnect', 'POST'], ['sources', 'GET']] as const) {
    const response = await preflight(route, APP_ORIGIN, method);
    expect([route, response.status]).toEqual([route, 204]);
    expect(response.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    expect(response.headers.get('access-control-allow-methods')).toBe(method);
    expect(response.headers.get('access-control-allow-headers')).toMatch(/Authorization/);
    expect(response.headers.get('access-control-allow-credentials')).toBeNull();
  }
});

test('another origin gets a 403 preflight and no CORS header on its request; start and callback are no CORS routes', async () => {
  const refused = await preflight('confirm', 'https://evil.example');
  expect(refused.status).toBe(403);
  expect(refused.headers.get('access-control-allow-origin')).toBeNull();

  const token = await idTokenFor(stack, 'cors-user');
  const sources = (origin: string) => fetch(`${stack.functionUrl('connect')}/sources`, { headers: { Origin: origin, Authorization: `Bearer ${token}` } });
  const fromApp = await sources(APP_ORIGIN);
  expect(fromApp.status).toBe(200);
  expect(fromApp.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
  const fromElsewhere = await sources('https://evil.example');
  expect(fromElsewhere.headers.get('access-control-allow-origin')).toBeNull();

  const start = await preflight('start', APP_ORIGIN);
  expect(start.status).toBe(405);
  expect(start.headers.get('access-control-allow-origin')).toBeNull();
});
