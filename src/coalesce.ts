/**
 * Runs a task whenever asked, one run at a time: asks that arrive during a run make exactly
 * one more run. The recipes re-read ZooKeeper this way on every watch, reconnect or retry,
 * so a burst of triggers costs one read, and no two reads race.
 */
export class CoalescingRunner {
  private dirty = false;
  private running: Promise<void> | null = null;

  /** `task` handles its own errors; `active` says whether runs are still wanted. */
  constructor(
    private readonly task: () => Promise<void>,
    private readonly active: () => boolean = () => true,
  ) {}

  /** Asks for a run; resolves when no run is pending any more. */
  request(): Promise<void> {
    this.dirty = true;
    this.running ??= this.loop();
    return this.running;
  }

  // The loop clears `running` in the same synchronous step as its last check of `dirty`, so
  // an ask can never land between "nothing more to do" and "no loop running" and be lost.
  private async loop(): Promise<void> {
    // Yield once, so that request() has recorded this loop before the loop can end.
    await Promise.resolve();
    try {
      while (this.dirty && this.active()) {
        this.dirty = false;
        await this.task();
      }
    } finally {
      this.running = null;
    }
  }
}
