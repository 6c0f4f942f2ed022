/**
 * Gmail history ids are uint64 values carried as decimal strings: they exceed 2^53, so they
 * are compared as BigInt, never as numbers or strings.
 */
const HISTORY_ID = /^\d{1,20}$/;
const UINT64_MAX = 2n ** 64n - 1n;

/** A decimal uint64: twenty digits can still exceed 2^64 − 1, so the value is checked too. */
export function isHistoryId(value: string): boolean {
  return HISTORY_ID.test(value) && BigInt(value) <= UINT64_MAX;
}

export function compareHistoryIds(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The newer of two history ids; `null` stands for "none yet". */
export function maxHistoryId(a: string | null, b: string | null): string | null {
  if (a === null) return b;
  if (b === null) return a;
  return compareHistoryIds(a, b) >= 0 ? a : b;
}

/** True when `candidate` is strictly newer than `cursor` (anything is newer than no cursor). */
export function isNewerHistoryId(candidate: string, cursor: string | null): boolean {
  return cursor === null || compareHistoryIds(candidate, cursor) > 0;
}

/** The smallest id newer than `cursor`: "whatever happened after the cursor" (polls). */
export function historyIdAfter(cursor: string | null): string {
  return cursor === null ? '1' : (BigInt(cursor) + 1n).toString();
}
