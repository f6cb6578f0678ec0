// The lookup cache's kept JSON fragments (`"vector":[…],"version":n,"kind":"…"`), by slot.
// Making the JSON of a vector is most of a JSON answer's cost (~7-10 µs at dim 64), but a
// fragment is 1.2 KB at dim 64, five times its vector: kept for every entry, they were most
// of the cache's memory. So they are kept for hot entries only, in a share of the cache's
// budget, with a CLOCK of their own:
// - admitted while the share has room; once it is full, on an entry's second use within a
//   window (TinyLFU's doorkeeper: the first-use marks are forgotten after as many marks as
//   fragments are kept, DOORKEEPER_MIN at least). Without the window, traffic spread evenly
//   over more items than the share holds (a warm-up over every item, then random ids) made
//   every use a second one, and every answer swapped a fragment for a new one;
// - the fragment hand takes the first fragment not used since its last pass.
// The cache (cache.ts) drops a slot's fragment with its entry, and tells each offer how much
// room its whole bound has left: entries come first.

/**
 * The numbers of the vector being written out, in one array kept for the process: a plain
 * array of doubles (JSON.stringify of a typed array would give an object), filled by index
 * (Array.from iterates, a few per cent slower) and never a new one per answer.
 */
const scratch: number[] = [];

/** A fragment's text: `"vector":[…],"version":n,"kind":"…"`. */
export function embeddingJson(e: { vector: Float32Array; version: number; kind: string }): string {
  const v = e.vector;
  scratch.length = v.length;
  for (let i = 0; i < v.length; i++) scratch[i] = v[i]!;
  return `"vector":${JSON.stringify(scratch)},"version":${e.version},"kind":${JSON.stringify(e.kind)}`;
}

const DOORKEEPER_MIN = 1024;

// bits, per slot
/** Its fragment was used since the fragment hand last passed. */
const REF = 1;
/** Its fragment was made and not kept once, lately (the doorkeeper's mark): the next time it is kept. */
const SEEN = 2;

export class JsonFragments {
  /** slot → its kept fragment (a Map: only the hot few percent have one) */
  private kept = new Map<number, Buffer>();
  private bits = new Uint8Array(0);
  /** slots below this may hold a fragment (the hand's range) */
  private top = 0;
  private hand = 0;
  /** SEEN marks made since they were last forgotten */
  private seenMarks = 0;
  private held = 0;

  constructor(private readonly maxBytes: number) {}

  /** Makes room for slots below `n` (the cache's column capacity). */
  reserve(n: number): void {
    if (n <= this.bits.length) return;
    const b = new Uint8Array(n);
    b.set(this.bits);
    this.bits = b;
  }

  /** The slot's kept fragment, marked used, or undefined. */
  get(slot: number): Buffer | undefined {
    const f = this.kept.get(slot);
    if (f) this.bits[slot] = this.bits[slot]! | REF;
    return f;
  }

  /**
   * `text` as the slot's fragment if it is kept now (as bytes), else `text` itself. Never
   * more than the share, nor past `room` (what the cache's whole bound has left): making room
   * here drops only fragments, so every slot a request holds stays good.
   */
  offer(slot: number, text: string, room: number): Buffer | string {
    if (this.held + text.length > room || text.length > this.maxBytes) return text;
    if (this.held + text.length > this.maxBytes) {
      const b = this.bits[slot]!;
      if (!(b & SEEN)) {
        this.bits[slot] = b | SEEN;
        if (++this.seenMarks > Math.max(DOORKEEPER_MIN, this.kept.size)) this.forgetSeen();
        return text;
      }
      this.evict(text.length);
      if (this.held + text.length > this.maxBytes) return text;
    }
    // its own allocation: a slice of Node's shared 8 KB pool would keep the whole pool alive
    const bytes = Buffer.allocUnsafeSlow(text.length);
    bytes.write(text, 'latin1'); // numbers and a kind name: ASCII
    this.kept.set(slot, bytes);
    this.bits[slot] = REF;
    this.held += bytes.length;
    if (slot >= this.top) this.top = slot + 1;
    return bytes;
  }

  /** The slot's entry is gone (or is another one now): its fragment and marks go too. */
  drop(slot: number): void {
    if (slot < this.bits.length) this.bits[slot] = 0;
    const f = this.kept.get(slot);
    if (!f) return;
    this.held -= f.length;
    this.kept.delete(slot);
  }

  clear(): void {
    this.kept = new Map();
    this.bits = new Uint8Array(0);
    this.top = this.hand = this.seenMarks = this.held = 0;
  }

  /** Bytes the kept fragments hold. */
  get bytes(): number {
    return this.held;
  }

  /** The doorkeeper's reset: every first-use mark is forgotten (one pass over the bits). */
  private forgetSeen(): void {
    const bits = this.bits;
    for (let s = 0; s < bits.length; s++) bits[s] = bits[s]! & ~SEEN;
    this.seenMarks = 0;
  }

  /** The fragment hand, until `need` more bytes fit in the share. Two turns at most: the first clears every bit it passes. */
  private evict(need: number): void {
    for (let steps = 2 * this.top; this.held + need > this.maxBytes && steps > 0; steps--) {
      if (this.hand >= this.top) this.hand = 0;
      const s = this.hand++;
      if (!this.kept.has(s)) continue;
      const b = this.bits[s]!;
      if (b & REF) this.bits[s] = b & ~REF;
      else this.drop(s);
    }
  }
}
