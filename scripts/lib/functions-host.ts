import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import type { Services } from '../../functions/src/entry/services';
import { FUNCTIONS, registerFunctions, type FunctionName, type Wrap } from '../../functions/src/register';

/**
 * Every function in one host process, each served by the Functions Framework (its own
 * request pipeline: body parsing, CloudEvent conversion of Pub/Sub pushes) under `/{name}`.
 */
export interface FunctionsHost {
  url: string;
  functionUrl(name: FunctionName): string;
  close(): Promise<void>;
}

export class PortInUseError extends Error {
  constructor(readonly port: number, readonly what: string) {
    super(`Port ${port} on 127.0.0.1 is already in use (wanted for ${what}). Stop whatever holds it, or choose another port.`);
    this.name = 'PortInUseError';
  }
}

export async function listenOn(server: Server, port: number, what: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => reject(error.code === 'EADDRINUSE' ? new PortInUseError(port, what) : error));
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

/** Fails at once, before anything slow starts, when a port the caller asked for by number is taken. */
export async function assertPortsFree(ports: { port: number; what: string }[]): Promise<void> {
  for (const { port, what } of ports.filter((p) => p.port !== 0)) {
    const probe = createServer();
    await listenOn(probe, port, what);
    await new Promise<void>((resolve) => probe.close(() => resolve()));
  }
}

/** Cloud Run's request log line for one request (what the platform writes for every call). */
export type RequestLog = (line: string) => void;
/** Sees each request as it starts (the function's name); the callback it returns, once it has ended, with its status. */
export type RequestObserver = (name: string, req: IncomingMessage) => (status: number) => void;

export async function startFunctionsHost(services: () => Services, port: number, wrap?: Wrap, requestLog?: RequestLog, observe?: RequestObserver): Promise<FunctionsHost> {
  registerFunctions(services, wrap);
  const apps = new Map<string, RequestListener>();
  for (const name of Object.keys(FUNCTIONS) as FunctionName[]) {
    apps.set(name, getTestServer(name).listeners('request')[0] as RequestListener);
  }
  const server = createServer((req, res) => {
    const match = /^\/([A-Za-z]+)(\/[^?]*)?(\?.*)?$/.exec(req.url ?? '/');
    const app = match ? apps.get(match[1]!) : undefined;
    if (!match || !app) {
      res.writeHead(404, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: 'no such function', functions: [...apps.keys()] }));
      return;
    }
    const requestUrl = req.url ?? '/';
    if (observe) {
      const ended = observe(match[1]!, req);
      res.once('close', () => ended(res.statusCode));
    }
    if (requestLog) {
      res.on('finish', () => requestLog(JSON.stringify({ severity: 'INFO', httpRequest: { requestMethod: req.method, requestUrl, status: res.statusCode } })));
    }
    req.url = `${match[2] ?? '/'}${match[3] ?? ''}`;
    app(req, res);
  });
  server.keepAliveTimeout = 1000;
  const bound = await listenOn(server, port, 'the functions host');
  const url = `http://127.0.0.1:${bound}`;
  return {
    url,
    functionUrl: (name) => `${url}/${name}`,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
