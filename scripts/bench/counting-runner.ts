import type { AnnouncedWork } from '../../functions/src/engine/model';
import type { Runner, RunOptions, RunOutcome } from '../../functions/src/engine/runner/runner';

/** Counts how triggers fared: `recorded` means another run held the lease and took the work. */
export class CountingRunner implements Runner {
  readonly outcomes: Record<string, number> = {};
  constructor(private readonly inner: Runner) {}
  async handle(sourceId: string, work: AnnouncedWork, options: RunOptions): Promise<RunOutcome> {
    const outcome = await this.inner.handle(sourceId, work, options);
    this.outcomes[outcome] = (this.outcomes[outcome] ?? 0) + 1;
    return outcome;
  }
  reset(): void {
    Object.keys(this.outcomes).forEach((k) => delete this.outcomes[k]);
  }
}
