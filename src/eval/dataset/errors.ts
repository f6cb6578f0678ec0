// A bad dataset file is reported as `file:line:column: what is wrong`, the shape editors and
// terminals turn into a link: whoever exported the data can go straight to the row.

export class DatasetError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    /** 1-based: a character in items.jsonl, a field (its position in the row) in the CSV files */
    readonly column: number,
    readonly reason: string,
  ) {
    super(`${file}:${line}:${column}: ${reason}`);
    this.name = 'DatasetError';
  }
}

/** A dataset directory or file that is not there or cannot be read: no line to point at. */
export class DatasetPathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatasetPathError';
  }
}

/** A value quoted for an error message, cut short so one huge field cannot bury the message. */
export function shown(v: unknown): string {
  const s = v === undefined ? 'nothing' : JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
