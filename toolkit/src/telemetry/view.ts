/**
 * What `akb telemetry` does with each message and when it draws. Two outputs:
 * - a terminal: the table redrawn in place on the alternate screen (cursor home, each line cleared to its
 *   end, the rest of the screen cleared), at most once per `intervalMs` however many messages arrive, and
 *   at least once a second so ages advance; the cursor is hidden while it runs and restored by `close()`;
 * - lines: one JSON object per message that changed a device. When the reader falls behind by more than
 *   `maxPendingBytes`, lines are dropped and counted rather than buffered without bound.
 */
import { FleetModel, rowJson, type DeviceRow, type MessageKind } from './model.js';
import { renderScreen } from './render.js';

/** A terminal: what the view needs of process.stdout when it is a TTY. */
export interface Terminal {
  write(text: string): void;
  readonly columns: number;
  readonly rows: number;
}

export interface LineSink {
  write(line: string): void;
  /** Bytes written but not yet taken by the reader. */
  pending(): number;
  /** Called once, when the first line is dropped. */
  onFirstDrop?(): void;
}

export interface ViewOptions {
  model: FleetModel;
  broker: string;
  intervalMs: number;
  silentMs: number;
  /** Default 4 MiB. */
  maxPendingBytes?: number;
  /** Whether the broker connection is up now (default: always). */
  connected?: () => boolean;
  now?: () => number;
}

export const ENTER_SCREEN = '\x1b[?1049h\x1b[?25l';
export const LEAVE_SCREEN = '\x1b[?25h\x1b[?1049l';
export const HOME = '\x1b[H';
const CLEAR_LINE = '\x1b[K';
const CLEAR_BELOW = '\x1b[J';

/** Messages per second over the last `windowS` whole seconds (plus the current one, pro rata). */
export class RateMeter {
  private readonly buckets: number[];
  private second = 0;

  constructor(private readonly windowS = 5) {
    this.buckets = new Array<number>(windowS + 1).fill(0);
  }

  add(now: number): void {
    this.advance(now);
    this.buckets[this.second % this.buckets.length]! += 1;
  }

  rate(now: number): number {
    this.advance(now);
    const total = this.buckets.reduce((a, b) => a + b, 0);
    const partial = (now % 1000) / 1000;
    return total / (this.windowS + partial);
  }

  private advance(now: number): void {
    const s = Math.floor(now / 1000);
    if (this.second === 0) this.second = s;
    if (s <= this.second) return;
    const n = this.buckets.length;
    for (let t = Math.max(this.second + 1, s - n + 1); t <= s; t++) this.buckets[t % n] = 0;
    this.second = s;
  }
}

abstract class View {
  readonly meter = new RateMeter();
  protected readonly now: () => number;

  constructor(protected readonly options: ViewOptions) {
    this.now = options.now ?? Date.now;
  }

  get model(): FleetModel {
    return this.options.model;
  }

  /** Takes one message off the broker; never throws. */
  receive(topic: string, kind: MessageKind | undefined, payload: Uint8Array): void {
    const now = this.now();
    this.meter.add(now);
    const row = this.options.model.apply(topic, payload, now);
    if (row !== undefined && kind !== undefined) this.changed(row, kind, now);
  }

  protected abstract changed(row: DeviceRow, kind: MessageKind, now: number): void;
  abstract close(): void;
}

/** One JSON line per change. */
export class LinesView extends View {
  dropped = 0;

  constructor(options: ViewOptions, private readonly sink: LineSink) {
    super(options);
  }

  protected changed(row: DeviceRow, kind: MessageKind, now: number): void {
    if (this.sink.pending() > (this.options.maxPendingBytes ?? 4 * 2 ** 20)) {
      if (this.dropped++ === 0) this.sink.onFirstDrop?.();
      return;
    }
    this.sink.write(JSON.stringify(rowJson(row, kind, now)));
  }

  /** Every device's current state, one line each (for `--once --json`). */
  dumpAll(): void {
    const now = this.now();
    for (const row of this.model.list()) this.sink.write(JSON.stringify(rowJson(row, null, now)));
  }

  close(): void {}
}

/** The table, redrawn in place. */
export class ScreenView extends View {
  private dirty = true;
  private lastDraw = 0;
  private readonly timer: NodeJS.Timeout;
  private open = true;
  draws = 0;

  constructor(options: ViewOptions, private readonly terminal: Terminal) {
    super(options);
    terminal.write(ENTER_SCREEN);
    this.draw();
    this.timer = setInterval(() => this.tick(), Math.max(50, options.intervalMs));
  }

  protected changed(): void {
    this.dirty = true;
  }

  /** Redraws now (after a resize, say). */
  redraw(): void {
    this.dirty = true;
    this.draw();
  }

  private tick(): void {
    if (this.dirty || this.now() - this.lastDraw >= 1000) this.draw();
  }

  private draw(): void {
    if (!this.open) return;
    const now = this.now();
    const lines = renderScreen({
      broker: this.options.broker,
      rows: this.model.list(),
      counters: this.model.counters,
      rate: this.meter.rate(now),
      now,
      width: Math.max(20, this.terminal.columns),
      height: Math.max(4, this.terminal.rows),
      silentMs: this.options.silentMs,
      color: true,
      connected: this.options.connected?.() ?? true,
    });
    // No newline after the last line: on the bottom row it would scroll the screen.
    this.terminal.write(`${HOME}${lines.join(`${CLEAR_LINE}\r\n`)}${CLEAR_LINE}${CLEAR_BELOW}`);
    this.dirty = false;
    this.lastDraw = now;
    this.draws++;
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    clearInterval(this.timer);
    this.terminal.write(LEAVE_SCREEN);
  }
}
