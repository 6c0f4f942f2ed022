import {
  Timestamp,
  type DocumentData,
  type FirestoreDataConverter,
  type QueryDocumentSnapshot,
} from '@google-cloud/firestore';
import type * as z from 'zod';

/** A stored document that does not match its schema: names the document and the fields. */
export class MalformedDocumentError extends Error {
  constructor(
    readonly path: string,
    readonly problems: string[],
  ) {
    super(`Malformed document ${path}: ${problems.join('; ')}`);
    this.name = 'MalformedDocumentError';
  }
}

/** Firestore hands back Timestamps; the domain speaks Dates. */
function timestampsToDates(value: unknown): unknown {
  if (value instanceof Timestamp) return value.toDate();
  if (Array.isArray(value)) return value.map(timestampsToDates);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, timestampsToDates(v)]),
    );
  }
  return value;
}

export function parseDocument<S extends z.ZodType>(
  schema: S,
  path: string,
  data: DocumentData | undefined,
): z.output<S> {
  const parsed = schema.safeParse(timestampsToDates(data ?? {}));
  if (!parsed.success) {
    throw new MalformedDocumentError(
      path,
      parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`),
    );
  }
  return parsed.data;
}

/**
 * Reads and writes every document through its schema: a malformed document fails here, with
 * its path, instead of deep in the engine. Writes are validated too, so nothing malformed is
 * ever stored.
 */
export function zodConverter<S extends z.ZodType<DocumentData>>(
  schema: S,
): FirestoreDataConverter<z.output<S>, DocumentData> {
  return {
    toFirestore(model) {
      return schema.parse(model);
    },
    fromFirestore(snapshot: QueryDocumentSnapshot) {
      return parseDocument(schema, snapshot.ref.path, snapshot.data());
    },
  };
}
