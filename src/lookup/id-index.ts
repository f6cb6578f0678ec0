// The lookup cache's index: (space number, item id) → slot, held in typed arrays only. A
// Map of a million id strings is two million objects the garbage collector marks on every
// major collection: at a million cached items those collections ran every few seconds with
// steps of 10-25 ms on the request path (the p99 at 1M items was 3-6× its value at 10,000),
// and the strings and the Map's entries were ~80 bytes an item. Here an id is its UTF-16
// code units in one arena, the table is open addressing (linear probing) over an Int32Array,
// and nothing the collector has to visit grows with the number of entries.

const EMPTY = 0;
const DELETED = -1;
/** The table grows (or is rebuilt without its tombstones) past this share of its size. */
const MAX_LOAD = 0.6;

// FNV-1a over the space number and the code units, then a final mix for the low bits
const FNV_OFFSET = 2166136261;
const FNV_PRIME = 16777619;
function mix(h: number): number {
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  return (h ^ (h >>> 12)) >>> 0;
}

/** The hash of (space, the id that is s[from, to)). */
function hash(space: number, s: string, from: number, to: number): number {
  let h = FNV_OFFSET ^ space;
  for (let i = from; i < to; i++) h = Math.imul(h ^ s.charCodeAt(i), FNV_PRIME);
  return mix(h);
}

function grown<T extends Uint32Array | Uint16Array>(a: T, n: number): T {
  const b = new (a.constructor as new (n: number) => T)(n);
  b.set(a.subarray(0, Math.min(a.length, n)));
  return b;
}

export class IdIndex {
  /** slot + 1, EMPTY or DELETED */
  private table = new Int32Array(1024);
  private live = 0;
  /** live entries and tombstones */
  private filled = 0;
  // per slot: its space, where its id's code units start in the arena, how many, how many fit there
  private spaceAt = new Uint32Array(0);
  private idAt = new Uint32Array(0);
  private idLen = new Uint16Array(0);
  private idRoom = new Uint16Array(0);
  private arena = new Uint16Array(1 << 16);
  private arenaTop = 0;
  /** code units of the arena no slot owns any more */
  private garbage = 0;

  /** Makes room for slots below `n` (the cache's column capacity). */
  reserve(n: number): void {
    if (n <= this.idAt.length) return;
    this.spaceAt = grown(this.spaceAt, n);
    this.idAt = grown(this.idAt, n);
    this.idLen = grown(this.idLen, n);
    this.idRoom = grown(this.idRoom, n);
  }

  /** The slot of (space, id), or -1. */
  find(space: number, id: string): number {
    return this.findIn(space, id, 0, id.length);
  }

  /**
   * The slot of (space, the id that is s[from, to)), or -1: a lookup body's ids are found
   * where they are in the body, without a string made for each (lookup-lane.ts).
   */
  findIn(space: number, s: string, from: number, to: number): number {
    const mask = this.table.length - 1;
    for (let at = hash(space, s, from, to) & mask; ; at = (at + 1) & mask) {
      const v = this.table[at]!;
      if (v === EMPTY) return -1;
      if (v > 0 && this.matches(v - 1, space, s, from, to)) return v - 1;
    }
  }

  /** Adds (space, id) → slot; (space, id) must not be in the index, nor slot hold another id. */
  insert(space: number, id: string, slot: number): void {
    if (id.length > 0xffff) throw new Error('an id longer than 65,535 characters');
    if ((this.filled + 1) / this.table.length > MAX_LOAD) this.rebuild(this.live + 1);
    this.spaceAt[slot] = space;
    this.writeId(slot, id);
    this.place(hash(space, id, 0, id.length), slot);
    this.live++;
  }

  /** Takes slot out of the index (its arena room stays with it, for the slot's next id). */
  delete(slot: number): void {
    const mask = this.table.length - 1;
    for (let at = this.hashOf(slot) & mask; ; at = (at + 1) & mask) {
      const v = this.table[at]!;
      if (v === EMPTY) throw new Error(`slot ${slot} is not in the index`);
      if (v === slot + 1) {
        this.table[at] = DELETED;
        break;
      }
    }
    this.idLen[slot] = 0;
    this.live--;
  }

  spaceOf(slot: number): number {
    return this.spaceAt[slot]!;
  }

  /** The id of a slot in the index (made as a string: for the rare paths that list ids). */
  idOf(slot: number): string {
    const at = this.idAt[slot]!;
    let s = '';
    for (let i = 0; i < this.idLen[slot]!; i++) s += String.fromCharCode(this.arena[at + i]!);
    return s;
  }

  get size(): number {
    return this.live;
  }

  /** Bytes the index holds (table, per-slot columns, arena). */
  get bytes(): number {
    return this.table.byteLength + 12 * this.idAt.length + this.arena.byteLength;
  }

  clear(): void {
    this.table = new Int32Array(1024);
    this.live = this.filled = 0;
    for (const k of ['spaceAt', 'idAt'] as const) this[k] = new Uint32Array(0);
    for (const k of ['idLen', 'idRoom'] as const) this[k] = new Uint16Array(0);
    this.arena = new Uint16Array(1 << 16);
    this.arenaTop = this.garbage = 0;
  }

  private matches(slot: number, space: number, s: string, from: number, to: number): boolean {
    if (this.spaceAt[slot] !== space || this.idLen[slot] !== to - from) return false;
    const at = this.idAt[slot]! - from;
    for (let i = from; i < to; i++) if (this.arena[at + i] !== s.charCodeAt(i)) return false;
    return true;
  }

  /** hash() of the id the slot holds, from the arena. */
  private hashOf(slot: number): number {
    const at = this.idAt[slot]!;
    let h = FNV_OFFSET ^ this.spaceAt[slot]!;
    for (let i = 0; i < this.idLen[slot]!; i++) h = Math.imul(h ^ this.arena[at + i]!, FNV_PRIME);
    return mix(h);
  }

  /** The first free place on the hash's probe sequence (the caller knows the key is absent). */
  private place(h: number, slot: number): void {
    const mask = this.table.length - 1;
    let at = h & mask;
    while (this.table[at]! > 0) at = (at + 1) & mask;
    if (this.table[at] === EMPTY) this.filled++;
    this.table[at] = slot + 1;
  }

  /** A table for `live` entries at under half load, without tombstones. */
  private rebuild(live: number): void {
    let n = 1024;
    while (n < 2 * live) n *= 2;
    const old = this.table;
    this.table = new Int32Array(n);
    this.filled = 0;
    for (let i = 0; i < old.length; i++) {
      const v = old[i]!;
      if (v > 0) this.place(this.hashOf(v - 1), v - 1);
    }
  }

  private writeId(slot: number, id: string): void {
    if (this.idRoom[slot]! < id.length) {
      this.garbage += this.idRoom[slot]!;
      this.idRoom[slot] = 0; // not copied by a compaction below
      if (this.arenaTop + id.length > this.arena.length) this.makeRoom(id.length);
      this.idAt[slot] = this.arenaTop;
      this.idRoom[slot] = id.length;
      this.arenaTop += id.length;
    }
    const at = this.idAt[slot]!;
    for (let i = 0; i < id.length; i++) this.arena[at + i] = id.charCodeAt(i);
    this.idLen[slot] = id.length;
  }

  /** Compacts the arena when most of it is garbage, else doubles it, until `need` more fit. */
  private makeRoom(need: number): void {
    if (this.garbage > this.arenaTop / 2) {
      const next = new Uint16Array(Math.max(1 << 16, this.arena.length));
      let top = 0;
      for (let s = 0; s < this.idAt.length; s++) {
        const room = this.idRoom[s]!;
        if (room === 0) continue;
        next.set(this.arena.subarray(this.idAt[s]!, this.idAt[s]! + room), top);
        this.idAt[s] = top;
        top += room;
      }
      this.arena = next;
      this.arenaTop = top;
      this.garbage = 0;
    }
    let n = this.arena.length;
    while (this.arenaTop + need > n) n *= 2;
    if (n !== this.arena.length) {
      const next = new Uint16Array(n);
      next.set(this.arena.subarray(0, this.arenaTop));
      this.arena = next;
    }
  }
}
