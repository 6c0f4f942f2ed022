import { Runner, type RunOutcome, type RunTrigger } from '../../functions/src/engine/runner/runner';

/** Counts how triggers fared: `recorded` means another run held the lease and took the work. */
export class CountingRunner extends Runner {
  readonly outcomes: Record<string, number> = {};
  constructor(private readonly inner: Runner) {
    super();
  }
  async run(sourceId: string, trigger: RunTrigger): Promise<RunOutcome> {
    const outcome = await this.inner.run(sourceId, trigger);
    this.outcomes[outcome] = (this.outcomes[outcome] ?? 0) + 1;
    return outcome;
  }
  reset(): void {
    Object.keys(this.outcomes).forEach((k) => delete this.outcomes[k]);
  }
}
