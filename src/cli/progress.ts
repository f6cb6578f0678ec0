// Progress on stderr: a bar redrawn in place when a person watches (a TTY), plain lines
// when a log or a CI job does — every 5 s, each 10% step, and when the phase changes —
// so that a log is neither silent for minutes nor flooded.
import type { Io } from './io.js';

export interface ProgressReport {
  /** 0 … 1, or undefined when the total is not known */
  fraction: number | undefined;
  /** what to show after the bar: "45000 rows, 12000 rows/s, ETA 4s" */
  text: string;
  /** a change of phase prints a line at once (non-TTY) */
  phase?: string;
}

export interface Progress {
  update(r: ProgressReport): void;
  /** the final state, then the bar's line is left as it is */
  done(r: ProgressReport): void;
}

const WIDTH = 24;
const LINE_EVERY_MS = 5000;
const REDRAW_EVERY_MS = 100;

export function progress(io: Io, label: string, now: () => number = Date.now): Progress {
  const tty = io.err.isTTY === true;
  let lastAt = -Infinity;
  let lastStep = -1;
  let lastPhase: string | undefined;
  const pct = (f: number | undefined) => (f === undefined ? '' : `${Math.floor(f * 100)}% `);
  const draw = (r: ProgressReport) => {
    const f = r.fraction === undefined ? 0 : Math.min(1, Math.max(0, r.fraction));
    const filled = Math.round(f * WIDTH);
    const bar = r.fraction === undefined ? '' : `[${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] `;
    // \r back to the start, \x1b[K clears what a longer previous line left
    io.err.write(`\r${label} ${bar}${pct(r.fraction)}${r.text}\x1b[K`);
  };
  const line = (r: ProgressReport) => io.err.write(`${label}: ${pct(r.fraction)}${r.text}\n`);
  return {
    update(r) {
      const t = now();
      if (tty) {
        if (t - lastAt < REDRAW_EVERY_MS) return;
        lastAt = t;
        draw(r);
        return;
      }
      const step = r.fraction === undefined ? -1 : Math.floor(r.fraction * 10);
      const phaseChanged = r.phase !== undefined && r.phase !== lastPhase;
      if (t - lastAt < LINE_EVERY_MS && step <= lastStep && !phaseChanged) return;
      lastAt = t;
      lastStep = Math.max(lastStep, step);
      lastPhase = r.phase;
      line(r);
    },
    done(r) {
      if (tty) {
        draw(r);
        io.err.write('\n');
      } else line(r);
    },
  };
}

/** "4s", "3m20s", "1h05m" */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
