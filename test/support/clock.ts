import type { Clock } from '../../functions/src/engine/ports';

/** Real time plus an offset that a test moves, like the sandbox clock. */
export class MovableClock implements Clock {
  private offsetMs = 0;

  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }

  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

/**
 * A pass budget's clock on which every read after the first finds the budget spent: a pass
 * reads exactly one page and hands the rest on, however fast or slow the machine is.
 */
export class SpentAfterFirstPage implements Clock {
  private reads = 0;

  constructor(private readonly budgetMs: number) {}

  now(): Date {
    this.reads += 1;
    return new Date(this.reads === 1 ? 0 : this.budgetMs * this.reads);
  }
}
