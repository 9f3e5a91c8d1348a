import type { Clock, TimerHandle } from '../../src/clock.js';

/** A clock moved by hand; `wall` is what Date.now() would say, which liveness must ignore. */
export class ManualClock implements Clock {
  private time = 0;
  private timers: { at: number; callback: () => void; handle: object }[] = [];
  now(): number {
    return this.time;
  }
  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const handle = {};
    this.timers.push({ at: this.time + delayMs, callback, handle });
    return handle;
  }
  clearTimeout(handle: TimerHandle): void {
    this.timers = this.timers.filter((timer) => timer.handle !== handle);
  }
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const next = this.timers.filter((timer) => timer.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      this.timers = this.timers.filter((timer) => timer !== next);
      this.time = next.at;
      next.callback();
    }
    this.time = end;
  }
  get pending(): number {
    return this.timers.length;
  }
}
