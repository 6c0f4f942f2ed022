import { changeEventSchema, type ChangeEvent } from '../../functions/src/contracts/change-events';

/**
 * The change stream's events: the very schemas the engine publishes with (bundled into this
 * package by its build), and what a consumer needs to apply them at least once, safely.
 */
export * from '../../functions/src/contracts/change-events';

/** A Pub/Sub message's data (base64 as a push delivers it, bytes as a pull client gives it, or text) as a checked event. */
export function parseChangeEvent(data: string | Uint8Array, encoding: 'base64' | 'utf8' = 'base64'): ChangeEvent {
  const text = typeof data === 'string' ? (encoding === 'base64' ? new TextDecoder().decode(Uint8Array.from(atob(data), (c) => c.charCodeAt(0))) : data) : new TextDecoder().decode(data);
  return changeEventSchema.parse(JSON.parse(text));
}

/**
 * Drops duplicates and stale deliveries: `accept` is true only for a version above the one
 * already applied for the same subject (a task, or a source's status).
 */
export class VersionGate {
  private readonly applied = new Map<string, number>();

  accept(event: ChangeEvent): boolean {
    const held = this.applied.get(event.subject) ?? 0;
    if (event.data.version <= held) return false;
    this.applied.set(event.subject, event.data.version);
    return true;
  }
}
