// The cache's vectors, outside the V8 heap's objects: float32 rows in a few large
// Float32Arrays (chunks of 16 MiB), addressed by a number. A million cached vectors are then
// 64 objects for the garbage collector instead of a million Float32Arrays (each with its own
// ArrayBuffer, which every collection's array-buffer sweep visits), and a row costs its
// floats and nothing around them.
//
// Freed rows are kept on a free list per dimension and reused by the next row of that
// dimension; the chunks themselves are only given back by `reset`. A process serves one or
// a few dimensions (a space and its versions), so what one dimension frees is what the next
// row needs.

/** Floats per chunk: 16 MiB, so a row of up to 4,096 floats always fits in one. */
const CHUNK = 1 << 22;

export class VectorHeap {
  private chunks: Float32Array[] = [];
  /** The next float never handed out. */
  private top = 0;
  private free = new Map<number, number[]>();

  /** A place for `dim` floats (its contents are whatever was there). */
  alloc(dim: number): number {
    const reused = this.free.get(dim)?.pop();
    if (reused !== undefined) return reused;
    // a row never spans two chunks
    if ((this.top % CHUNK) + dim > CHUNK) this.top = Math.ceil(this.top / CHUNK) * CHUNK;
    const at = this.top;
    this.top += dim;
    while (this.chunks.length * CHUNK < this.top) this.chunks.push(new Float32Array(CHUNK));
    return at;
  }

  release(at: number, dim: number): void {
    let list = this.free.get(dim);
    if (!list) this.free.set(dim, (list = []));
    list.push(at);
  }

  write(at: number, v: Float32Array): void {
    this.chunks[Math.floor(at / CHUNK)]!.set(v, at % CHUNK);
  }

  /** A view of the row (no copy): good until the row is released. */
  view(at: number, dim: number): Float32Array {
    const from = at % CHUNK;
    return this.chunks[Math.floor(at / CHUNK)]!.subarray(from, from + dim);
  }

  /** Copies the row into `out` from `to`. */
  copy(at: number, dim: number, out: Float32Array, to: number): void {
    const chunk = this.chunks[Math.floor(at / CHUNK)]!;
    const from = at % CHUNK;
    out.set(chunk.subarray(from, from + dim), to);
  }

  reset(): void {
    this.chunks = [];
    this.top = 0;
    this.free.clear();
  }

  /** Bytes of the chunks it holds. */
  get reserved(): number {
    return this.chunks.length * CHUNK * 4;
  }
}
