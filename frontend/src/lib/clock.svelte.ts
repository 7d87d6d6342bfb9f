// The page's idea of the server's time. Ages are computed against the server clock, not the
// browser's, so a workstation with a wrong clock still shows true ages.

export class ServerClock {
  /** Estimated server time (ms since epoch); advances once a second. */
  now = $state(Date.now());
  private offset = 0;

  constructor(private readonly local: () => number = Date.now) {
    this.now = local();
  }

  /** A server timestamp just received (status `now`). */
  sync(serverNow: number): void {
    if (!Number.isFinite(serverNow) || serverNow <= 0) return;
    this.offset = serverNow - this.local();
    this.now = serverNow;
  }

  /** The server time right now, to the millisecond (not reactive; `now` is the 1 s signal). */
  current(): number {
    return this.local() + this.offset;
  }

  tick(): void {
    this.now = this.local() + this.offset;
  }

  /** Starts the 1 s tick; returns the stop function. */
  start(intervalMs = 1000): () => void {
    const id = setInterval(() => this.tick(), intervalMs);
    return () => clearInterval(id);
  }
}
