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
    this.running ??= this.loop().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async loop(): Promise<void> {
    while (this.dirty && this.active()) {
      this.dirty = false;
      await this.task();
    }
  }
}
