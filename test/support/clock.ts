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
