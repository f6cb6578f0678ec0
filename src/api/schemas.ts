// Schemas shared by several routes. Types come from them via Static<>.
import { Type } from 'typebox';

// No control characters (NUL would make Postgres refuse the row) and no lone surrogates
// (not valid UTF-8); ajv checks patterns with the u flag, so astral characters pass whole.
const PRINTABLE = '^[^\\u0000-\\u001f\\u007f\\ud800-\\udfff]*$';
export const Id = Type.String({ minLength: 1, maxLength: 256, pattern: PRINTABLE, description: 'Printable text, 1–256 characters' });
export const SpaceParams = Type.Object({ space: Id });
export const ItemParams = Type.Object({ space: Id, id: Id });
export const Vector = Type.Array(Type.Number(), { minItems: 1, maxItems: 4096 });
export const EmbeddingKind = Type.Union([Type.Literal('base'), Type.Literal('cold'), Type.Literal('refined')]);
export const ItemState = Type.Union([
  Type.Literal('received'),
  Type.Literal('enriched'),
  Type.Literal('cold'),
  Type.Literal('warming'),
  Type.Literal('established'),
]);

/** Batch limits: above them a request gets 413 naming the limit. */
export const LIMITS = { users: 50_000, items: 5_000, events: 50_000, lookup: 1_000 } as const;
