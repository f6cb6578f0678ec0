// CSV records (RFC 4180: comma-separated, fields in double quotes may hold commas, quotes
// doubled, and newlines — so a record may take several lines).

/** The fields of a record, or null when a quoted field is still open at its end (the record goes on on the next line). */
export function splitCsv(record: string): string[] | null {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < record.length; i++) {
    const c = record[i];
    if (quoted) {
      if (c === '"' && record[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      fields.push(field);
      field = '';
    } else field += c;
  }
  if (quoted) return null;
  fields.push(field);
  return fields;
}
