import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A loopback HTTP endpoint that records what is POSTed to it and answers a chosen status. */
export interface RecordedRequest {
  headers: IncomingHttpHeaders;
  body: string;
}

export async function startRecorder(): Promise<{
  url: string;
  requests: RecordedRequest[];
  respondWith: (statuses: number[]) => void;
  close: () => Promise<void>;
}> {
  const requests: RecordedRequest[] = [];
  let planned: number[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      requests.push({ headers: req.headers, body });
      res.writeHead(planned.shift() ?? 200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/calendar-push`,
    requests,
    respondWith: (statuses) => (planned = [...statuses]),
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
