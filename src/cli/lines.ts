// A file read line by line as it streams: only the chunk being split and the line being
// handled are in memory, and the next chunk is read only when the caller asks for the next
// line (so a caller awaiting a request holds the reading back).
import type { Readable } from 'node:stream';

export interface Line {
  text: string;
  /** 1-based */
  number: number;
  /** bytes of the input up to the end of this line */
  offset: number;
}

export async function* lines(input: Readable): AsyncGenerator<Line> {
  let rest: Buffer = Buffer.alloc(0);
  let number = 0;
  let offset = 0;
  const cut = (bytes: Buffer): Line => {
    number++;
    offset += bytes.length + 1;
    let text = bytes.toString('utf8');
    if (text.endsWith('\r')) text = text.slice(0, -1);
    if (number === 1 && text.startsWith('\uFEFF')) text = text.slice(1); // a byte-order mark
    return { text, number, offset };
  };
  for await (const chunk of input) {
    // a newline byte is never part of a multi-byte UTF-8 character: splitting on it is safe
    let buf: Buffer = rest.length ? Buffer.concat([rest, chunk as Buffer]) : (chunk as Buffer);
    let nl: number;
    while ((nl = buf.indexOf(10)) >= 0) {
      yield cut(buf.subarray(0, nl));
      buf = buf.subarray(nl + 1);
    }
    // a copy: a view would keep the whole chunk alive while one long line is pending
    rest = Buffer.from(buf);
  }
  if (rest.length) {
    const last = cut(rest);
    yield { ...last, offset: last.offset - 1 };
  }
}
