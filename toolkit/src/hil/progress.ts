/**
 * Sweep progress on stderr, as `akb quantize` shows its phases: a bar redrawn in place (at most ~10 times
 * a second) when stderr is a terminal, otherwise one plain line per phase so that CI logs stay readable.
 */
export interface Progress {
  phase(text: string): void;
  step(done: number, total: number, what: string): void;
  done(): void;
}

export function stderrProgress(stream: NodeJS.WriteStream = process.stderr, prefix = 'akb hil'): Progress {
  const tty = stream.isTTY === true;
  let drawn = false;
  let last = 0;
  let lastPct = -1;
  return {
    phase: (text) => {
      if (tty && drawn) stream.write('\r\x1b[K');
      drawn = false;
      stream.write(`${prefix}: ${text}\n`);
    },
    step: (done, total, what) => {
      if (!tty) {
        // Without a terminal: a line at every tenth of the sweep.
        const pct = Math.floor((10 * done) / Math.max(1, total));
        if (pct !== lastPct) stream.write(`${prefix}: ${done}/${total} ${what}\n`);
        lastPct = pct;
        return;
      }
      const now = Date.now();
      if (done !== total && now - last < 100) return;
      last = now;
      const width = 30;
      const frac = Math.min(1, done / Math.max(1, total));
      stream.write(`\r[${'#'.repeat(Math.round(frac * width)).padEnd(width, '.')}] ${done}/${total} ${what.slice(0, 60)}\x1b[K`);
      drawn = true;
    },
    done: () => {
      if (tty && drawn) stream.write('\r\x1b[K');
      drawn = false;
    },
  };
}

export const silentProgress: Progress = { phase: () => undefined, step: () => undefined, done: () => undefined };
