/**
 * A region at the bottom of the terminal that is redrawn in place (ANSI cursor movement,
 * no full-screen mode): after each draw the cursor sits at the start of the line below
 * it. Anything else written to the terminal while the region is live (a message printed
 * above it, or a line on stderr such as the SIGINT notice or --verbose logs) is written
 * above the region, which is then redrawn below: the region is never garbled and never
 * left half-drawn. `stop` draws the last frame and leaves it as ordinary lines.
 */
import { truncate as truncateTo } from './text.js';

const CSI = '\x1b[';

export interface Terminal {
  write(s: string): unknown;
  columns?: number;
  rows?: number;
}

export interface LiveOptions {
  /** stderr to keep above the region (when it is the same terminal) */
  stderr?: NodeJS.WriteStream;
  /** redraw period while `animating()` holds */
  intervalMs?: number;
  animating?: () => boolean;
}

export class LiveRegion {
  private height = 0;
  private timer: NodeJS.Timeout | undefined;
  private unhook: (() => void) | undefined;
  private partial = '';
  private stopped = false;

  constructor(
    private readonly out: Terminal,
    private readonly render: () => string[],
    private readonly opts: LiveOptions = {},
  ) {}

  start(): void {
    this.draw();
    this.timer = setInterval(() => {
      if (!this.opts.animating || this.opts.animating()) this.draw();
    }, this.opts.intervalMs ?? 100);
    this.timer.unref();
    if (this.opts.stderr) this.unhook = this.hookStderr(this.opts.stderr);
  }

  /** Redraws the region. */
  draw(lines = this.render()): void {
    if (this.stopped) return;
    const fit = this.fit(lines);
    this.out.write(this.up() + fit.map((l) => `${CSI}2K${l}\n`).join('') + `${CSI}J`);
    this.height = fit.length;
  }

  /** Writes `text` (whole lines) above the region. */
  print(text: string): void {
    if (this.stopped) return void this.out.write(text);
    this.out.write(this.up() + `${CSI}J` + text);
    this.height = 0;
    this.draw();
  }

  /** The last frame (all of it, not cut to the screen's height), then ordinary output again. */
  stop(lines = this.render()): void {
    if (this.stopped) return;
    clearInterval(this.timer);
    this.unhook?.();
    const cols = this.cols();
    this.out.write(this.up() + lines.map((l) => `${CSI}2K${truncateTo(l, cols)}\n`).join('') + `${CSI}J`);
    this.height = 0;
    this.stopped = true;
    if (this.partial) this.opts.stderr?.write(this.partial);
    this.partial = '';
  }

  private up(): string {
    return this.height > 0 ? `\r${CSI}${this.height}A` : '\r';
  }

  private cols(): number {
    return this.out.columns && this.out.columns > 1 ? this.out.columns - 1 : 79;
  }

  /** Lines cut to the width (a wrapped line would break the cursor arithmetic) and, while live, to the height. */
  private fit(lines: string[]): string[] {
    const cols = this.cols();
    const rows = this.out.rows && this.out.rows > 2 ? this.out.rows - 1 : Infinity;
    const shown = lines.length > rows ? [...lines.slice(0, rows - 1), `  … ${lines.length - rows + 1} more`] : lines;
    return shown.map((l) => truncateTo(l, cols));
  }

  /** Lines written to stderr go above the region (a partial line waits for its newline). */
  private hookStderr(err: NodeJS.WriteStream): () => void {
    const original = err.write;
    const write = original.bind(err) as (s: string | Uint8Array) => boolean;
    err.write = ((chunk: string | Uint8Array, enc?: unknown, cb?: unknown) => {
      const callback = typeof enc === 'function' ? enc : cb;
      const text = this.partial + (typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      const cut = text.lastIndexOf('\n') + 1;
      this.partial = text.slice(cut);
      if (cut > 0) {
        this.out.write(this.up() + `${CSI}J`);
        this.height = 0;
        write(text.slice(0, cut));
        this.draw();
      }
      if (typeof callback === 'function') process.nextTick(callback as () => void);
      return true;
    }) as typeof err.write;
    return () => {
      err.write = original;
    };
  }
}
