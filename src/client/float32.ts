// The binary lookup answer (`Accept: application/octet-stream`): packed little-endian
// float32 rows, one per requested id in request order, NaN-filled for ids without an
// embedding; the dimension in x-emerflow-dim, the space version in x-emerflow-space-version.

export interface Float32Lookup {
  /** The version of the space every row is from. */
  spaceVersion: number;
  dim: number;
  ids: string[];
  /** Every row, packed: row i is data[i*dim … (i+1)*dim). */
  data: Float32Array;
  /** Row i (a view into `data`) is the embedding of ids[i]; all NaN when it has none. */
  rows: Float32Array[];
  /** The ids without an embedding, in request order. */
  missing: string[];
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Float32 values from little-endian bytes, whatever this machine's byte order. */
export function decodeFloat32(bytes: ArrayBuffer): Float32Array {
  if (LITTLE_ENDIAN) return new Float32Array(bytes);
  const view = new DataView(bytes);
  const out = new Float32Array(bytes.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

/** Packed rows, viewed one per id. */
export function float32Lookup(spaceVersion: number, dim: number, ids: string[], data: Float32Array): Float32Lookup {
  const rows = ids.map((_, i) => data.subarray(i * dim, (i + 1) * dim));
  // a stored vector is finite (the service checks every component), so NaN marks a missing row
  const missing = ids.filter((_, i) => dim > 0 && Number.isNaN(rows[i]?.[0]));
  return { spaceVersion, dim, ids, data, rows, missing };
}
