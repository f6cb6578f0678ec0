// The lookup cache's entries as columns: each field of an entry is one element of a typed
// array, indexed by the entry's slot (cache.ts), so a million entries are a dozen arrays
// for the garbage collector, not a million objects. The cache reads the arrays afresh on
// every access: `grow` replaces them.

/** A column grown to `n` elements, its contents kept. */
function grown<T extends Float64Array | Int32Array | Uint32Array | Uint16Array | Uint8Array>(a: T, n: number): T {
  const b = new (a.constructor as new (n: number) => T)(n);
  b.set(a);
  return b;
}

export class EntryColumns {
  /** slots the columns have room for */
  capacity = 0;
  /** USED, REF, NEGATIVE, SERVED (cache.ts) */
  flags = new Uint8Array(0);
  kindOf = new Uint8Array(0);
  dimOf = new Uint16Array(0);
  /** what the entry costs in the cache's byte bound */
  bytesOf = new Uint32Array(0);
  /** the row's first float in the vector heap */
  vectorAt = new Uint32Array(0);
  versionOf = new Uint32Array(0);
  interactionsOf = new Uint32Array(0);
  /** -1: null */
  modelOf = new Int32Array(0);
  updatedOf = new Float64Array(0);
  expiresOf = new Float64Array(0);

  /** Room for `n` slots, the contents kept. */
  grow(n: number): void {
    this.flags = grown(this.flags, n);
    this.kindOf = grown(this.kindOf, n);
    this.dimOf = grown(this.dimOf, n);
    this.bytesOf = grown(this.bytesOf, n);
    this.vectorAt = grown(this.vectorAt, n);
    this.versionOf = grown(this.versionOf, n);
    this.interactionsOf = grown(this.interactionsOf, n);
    this.modelOf = grown(this.modelOf, n);
    this.updatedOf = grown(this.updatedOf, n);
    this.expiresOf = grown(this.expiresOf, n);
    this.capacity = n;
  }
}
