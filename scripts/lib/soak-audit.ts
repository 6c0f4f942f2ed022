import { readFileSync } from 'node:fs';

/**
 * The soak's last step: one completeness audit run, the way Cloud Scheduler calls it; the job
 * fans the audits out to syncWorker, whose log lines say when each is done and what it
 * repaired. After a clean soak the engine has lost nothing, so the audit must repair nothing.
 */

export interface AuditStepResult {
  requested: number;
  audited: number;
  repaired: number;
  /** `sourceId type: missing M, wrong state W, repaired R` for every audit that repaired. */
  repairs: string[];
}

interface AuditLine {
  message?: string;
  sourceId?: string;
  type?: string;
  audited?: boolean;
  missing?: number;
  wrongState?: number;
  repaired?: number;
}

const WAIT_MS = 60_000;

export async function finalAudit(auditUrl: string, logFile: string): Promise<AuditStepResult> {
  const logOffset = readFileSync(logFile, 'utf8').length;
  const linesSince = () =>
    readFileSync(logFile, 'utf8')
      .slice(logOffset)
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as AuditLine);
  const response = await fetch(auditUrl, { method: 'POST' });
  if (!response.ok) throw new Error(`auditCompleteness answered ${response.status}: ${await response.text()}`);
  const { requested } = (await response.json()) as { requested: number };
  const deadline = Date.now() + WAIT_MS;
  let lines = linesSince();
  while (lines.filter((l) => l.message === 'audit request handled').length < requested) {
    if (Date.now() > deadline) throw new Error(`the audits of ${requested} sources did not finish within ${WAIT_MS / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
    lines = linesSince();
  }
  const finished = lines.filter((l) => l.message === 'audit finished');
  return {
    requested,
    audited: lines.filter((l) => l.message === 'audit request handled' && l.audited === true).length,
    repaired: finished.reduce((sum, l) => sum + (l.repaired ?? 0), 0),
    repairs: finished
      .filter((l) => (l.repaired ?? 0) > 0)
      .map((l) => `${l.sourceId} ${l.type}: missing ${l.missing}, wrong state ${l.wrongState}, repaired ${l.repaired}`),
  };
}
