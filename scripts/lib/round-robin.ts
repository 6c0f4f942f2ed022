import { createServer, request } from 'node:http';
import { listenOn } from './functions-host';

/**
 * What Cloud Run's load balancer does for two instances: each request goes to the next
 * target in turn. Requests are piped through untouched (method, path, headers, body).
 */
export interface RoundRobin {
  url: string;
  setTargets(urls: string[]): void;
  close(): Promise<void>;
}

export async function startRoundRobin(): Promise<RoundRobin> {
  let targets: URL[] = [];
  let next = 0;
  const server = createServer((req, res) => {
    const target = targets[next++ % Math.max(1, targets.length)];
    if (!target) {
      res.writeHead(503).end('no instance yet');
      return;
    }
    const upstream = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.headersSent || res.writeHead(502).end());
    req.pipe(upstream);
  });
  server.keepAliveTimeout = 1000;
  const port = await listenOn(server, 0, 'the round-robin front');
  return {
    url: `http://127.0.0.1:${port}`,
    setTargets: (urls) => (targets = urls.map((u) => new URL(u))),
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
