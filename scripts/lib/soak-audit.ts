import { readFileSync } from 'node:fs';

/**
 * The soak's last step: one completeness audit run, the way Cloud Scheduler calls it. After
 * a clean soak the engine has lost nothing, so the audit must repair nothing; anything it
 * repairs is reported per source and type, from the `audit finished` log lines.
 */

export interface AuditStepResult {
  audited: number;
  failed: number;
  repaired: number;
  /** `sourceId type: missing M, wrong state W, repaired R` for every audit that repaired. */
  repairs: string[];
}

interface AuditLine {
  message?: string;
  sourceId?: string;
  type?: string;
  missing?: number;
  wrongState?: number;
  repaired?: number;
}

export async function finalAudit(auditUrl: string, logFile: string): Promise<AuditStepResult> {
  const logOffset = readFileSync(logFile, 'utf8').length;
  const response = await fetch(auditUrl, { method: 'POST' });
  if (!response.ok) throw new Error(`auditCompleteness answered ${response.status}: ${await response.text()}`);
  const summary = (await response.json()) as { audited: number; failed: number; repaired: number };
  const repairs = readFileSync(logFile, 'utf8')
    .slice(logOffset)
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as AuditLine)
    .filter((l) => l.message === 'audit finished' && (l.repaired ?? 0) > 0)
    .map((l) => `${l.sourceId} ${l.type}: missing ${l.missing}, wrong state ${l.wrongState}, repaired ${l.repaired}`);
  return { audited: summary.audited, failed: summary.failed, repaired: summary.repaired, repairs };
}
