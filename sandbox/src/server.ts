import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { registerAdmin } from './admin-api';
import { registerBatch } from './batch-api';
import { registerCalendar } from './calendar-api';
import { registerGmail } from './gmail-api';
import { registerIdentityKeys } from './identity-keys';
import { parseBody, readBody, Router, send } from './http';
import { registerOAuth } from './oauth-api';
import { registerTasks } from './tasks-api';
import { DEFAULT_OPTIONS, World, type SandboxOptions } from './world';

export interface RunningSandbox {
  url: string;
  world: World;
  close(): Promise<void>;
}

/** Starts the sandbox on 127.0.0.1 (port 0 picks a free one). */
export async function startSandbox(options: Partial<SandboxOptions> & { port?: number } = {}): Promise<RunningSandbox> {
  const { port = 0, ...rest } = options;
  const world = new World({ ...DEFAULT_OPTIONS, ...rest, quota: { ...DEFAULT_OPTIONS.quota, ...rest.quota } });
  const router = new Router();
  registerOAuth(router, world);
  registerIdentityKeys(router);
  registerGmail(router, world);
  registerCalendar(router, world);
  registerBatch(router, world);
  registerTasks(router, world.tasks, () => world.clock.now());
  registerAdmin(router, world);

  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://sandbox.local');
      const method = req.method ?? 'GET';
      const match = router.match(method, url.pathname);
      if (match === null) return send(res, { status: 404, body: { error: { code: 404, message: `No route ${url.pathname}`, status: 'NOT_FOUND' } } });
      if (match === 'method') return send(res, { status: 405, body: { error: { code: 405, message: `${method} not allowed` } } });
      try {
        const rawBody = await readBody(req);
        let body: unknown;
        try {
          body = parseBody(rawBody, req.headers['content-type']);
        } catch {
          return send(res, { status: 400, body: { error: { code: 400, message: 'Invalid JSON payload received.', status: 'INVALID_ARGUMENT' } } });
        }
        const reply = await match.handler({ method, path: url.pathname, query: url.searchParams, headers: req.headers, params: match.params, body, rawBody });
        send(res, reply);
      } catch (error) {
        send(res, { status: 500, body: { error: { code: 500, message: error instanceof Error ? error.message : 'internal', status: 'INTERNAL' } } });
      }
    })();
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    world,
    async close() {
      world.tasks.close();
      await world.push.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
