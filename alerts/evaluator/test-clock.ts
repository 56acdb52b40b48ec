/** A Clock for tests: time moves only when `advance` is called, firing due timers in order. */
import type { Clock } from '../model.js';

export class ManualClock implements Clock {
  private timers: Array<{ at: number; seq: number; fn: () => void }> = [];
  private seq = 0;
  constructor(private t = 0) {}
  now(): number {
    return this.t;
  }
  setTimer(ms: number, fn: () => void): { dispose(): void } {
    const timer = { at: this.t + Math.max(0, ms), seq: this.seq++, fn };
    this.timers.push(timer);
    return { dispose: () => (this.timers = this.timers.filter((x) => x !== timer)) };
  }
  /** Moves time forward by `ms`, running each timer at its due time. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = this.timers.filter((x) => x.at <= end).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      this.timers = this.timers.filter((x) => x !== due);
      this.t = Math.max(this.t, due.at);
      due.fn();
    }
    this.t = end;
  }
}
