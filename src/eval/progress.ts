// A progress bar on stderr: redrawn in place on a terminal, one line per 5% otherwise (CI logs).
export class Progress {
  private done = 0;
  private lastPct = -1;
  private label = '';
  private readonly start = Date.now();
  constructor(
    private readonly total: number,
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly quiet = false,
  ) {}

  /** progress inside the current unit of work; `fraction` in [0, 1] of a unit weighing `weight` */
  at(unitStart: number, weight: number, fraction: number, label?: string): void {
    if (label !== undefined) this.label = label;
    this.done = Math.min(this.total, unitStart + weight * Math.min(1, Math.max(0, fraction)));
    this.draw();
  }

  get position(): number {
    return this.done;
  }

  private draw(): void {
    if (this.quiet) return;
    const f = this.total > 0 ? this.done / this.total : 1;
    const pct = Math.floor(f * 100);
    const secs = (Date.now() - this.start) / 1000;
    const eta = f > 0.02 ? Math.round(secs / f - secs) : NaN;
    const width = 30;
    const bar = '#'.repeat(Math.round(f * width)).padEnd(width, '.');
    const line = `[${bar}] ${String(pct).padStart(3)}% ${Math.round(secs)}s${Number.isFinite(eta) ? ` eta ${eta}s` : ''} ${this.label}`;
    if (this.out.isTTY) this.out.write(`\r${line.slice(0, (this.out.columns ?? 100) - 1).padEnd((this.out.columns ?? 100) - 1)}`);
    else if (pct >= this.lastPct + 5 || pct === 100) {
      this.lastPct = pct;
      this.out.write(`${line}\n`);
    }
  }

  finish(): void {
    this.done = this.total;
    this.draw();
    if (this.out.isTTY && !this.quiet) this.out.write('\n');
  }
}
