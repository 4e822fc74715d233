/**
 * The CLIs' progress bar: on stderr (stdout keeps the result line), started by the first event
 * (when the total is known), and with the warnings gathered meanwhile printed after it stops, so
 * they do not tear the bar apart. cli-progress draws it; this only holds the set-up they share.
 */
import { SingleBar } from 'cli-progress';

export class ProgressBar {
  private readonly bar: SingleBar;
  private started = false;
  private readonly notes: string[] = [];

  /** `format`: cli-progress's, e.g. 'eval {bar} {value}/{total} tracks | {eta_formatted} left | {track}'. */
  constructor(format: string) {
    this.bar = new SingleBar({ format, stream: process.stderr, hideCursor: true });
  }

  /** Sets the bar to `value` of `total` (starting it first), with the format's other fields. */
  update(value: number, total: number, payload: Record<string, string> = {}): void {
    if (!this.started) {
      this.bar.start(total, 0, payload);
      this.started = true;
    }
    this.bar.update(value, payload);
  }

  /** One more of `total` done. */
  increment(total: number, payload: Record<string, string> = {}): void {
    if (!this.started) this.update(0, total, payload);
    this.bar.increment(1, payload);
  }

  /** A line for stderr once the bar is gone. */
  note(line: string): void {
    this.notes.push(line);
  }

  /** Stops the bar (if it started) and prints the notes. Call on success and on failure alike. */
  stop(): void {
    if (this.started) this.bar.stop();
    this.started = false;
    for (const n of this.notes.splice(0)) console.error(n);
  }
}
