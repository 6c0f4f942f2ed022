import { Transform, type Readable } from 'node:stream';
import type { Firestore } from '@google-cloud/firestore';

/**
 * Counts the billable Firestore operations of one client, for the benchmark only: the SDK
 * sends every RPC through `request` (commits) and `requestStream` (lookups, queries), so
 * wrapping those two on the instance sees everything the engine does. Reads: each document a
 * lookup or query returns (a lookup of a missing document and an empty query still bill
 * one); writes: each write in a commit.
 */
export interface FirestoreOps {
  reads: number;
  writes: number;
}

type RequestFn = (method: string, request: { writes?: unknown[] }, ...rest: unknown[]) => Promise<unknown>;
type RequestStreamFn = (method: string, bidirectional: boolean, request: unknown, ...rest: unknown[]) => Promise<Readable>;

export function countFirestoreOps(db: Firestore): FirestoreOps {
  const ops: FirestoreOps = { reads: 0, writes: 0 };
  const client = db as unknown as { request: RequestFn; requestStream: RequestStreamFn };
  const request = client.request.bind(db);
  const requestStream = client.requestStream.bind(db);
  client.request = (method, body, ...rest) => {
    if (method === 'commit') ops.writes += body.writes?.length ?? 0;
    return request(method, body, ...rest);
  };
  client.requestStream = async (method, bidirectional, body, ...rest) => {
    const stream = await requestStream(method, bidirectional, body, ...rest);
    if (method !== 'batchGetDocuments' && method !== 'runQuery') return stream;
    let documents = 0;
    const counter = new Transform({
      objectMode: true,
      transform(chunk: { found?: unknown; missing?: unknown; document?: unknown }, _encoding, callback) {
        if (chunk.found || chunk.missing || chunk.document) documents += 1;
        callback(null, chunk);
      },
      flush(callback) {
        ops.reads += method === 'runQuery' ? Math.max(1, documents) : documents;
        callback();
      },
    });
    stream.on('error', (error) => counter.destroy(error));
    return stream.pipe(counter);
  };
  return ops;
}

/** The deletes among a client's commit writes, and its writes to collections with a TTL policy (each deleted, and billed, later). */
export interface FirestoreDeletes {
  deletes: number;
  ttlWrites: number;
}

type CommitWrite = { delete?: string; update?: { name?: string } };
type CommitFn = (method: string, request: { writes?: CommitWrite[] }, ...rest: unknown[]) => Promise<unknown>;

export function countFirestoreDeletes(db: Firestore, ttlCollections: readonly string[]): FirestoreDeletes {
  const counts: FirestoreDeletes = { deletes: 0, ttlWrites: 0 };
  const client = db as unknown as { request: CommitFn };
  const request = client.request.bind(db);
  const inTtlCollection = (name: string | undefined) => name !== undefined && ttlCollections.some((c) => name.includes(`/documents/${c}/`));
  client.request = (method, body, ...rest) => {
    if (method === 'commit') {
      for (const write of body.writes ?? []) {
        if (write.delete !== undefined) counts.deletes += 1;
        else if (inTtlCollection(write.update?.name)) counts.ttlWrites += 1;
      }
    }
    return request(method, body, ...rest);
  };
  return counts;
}
