// The schemas of the domain's shapes, in one place: routes validate with them and every
// layer takes its types from them (Static<>), so a shape is declared once.
import { Type, type Static } from 'typebox';

// No control characters (NUL would make Postgres refuse the row) and no lone surrogates
// (not valid UTF-8); ajv checks patterns with the u flag, so astral characters pass whole.
const PRINTABLE = '^[^\\u0000-\\u001f\\u007f\\ud800-\\udfff]*$';
export const Id = Type.String({ minLength: 1, maxLength: 256, pattern: PRINTABLE, description: 'Printable text, 1–256 characters' });
export const SpaceParams = Type.Object({ space: Id });
export const ItemParams = Type.Object({ space: Id, id: Id });
export const Vector = Type.Array(Type.Number(), { minItems: 1, maxItems: 4096 });
// mapped: the fast path of a version's promotion (the previous version's vector mapped into it)
export const EmbeddingKind = Type.Union([Type.Literal('base'), Type.Literal('cold'), Type.Literal('refined'), Type.Literal('mapped')]);
export const ItemState = Type.Union([
  Type.Literal('received'),
  Type.Literal('enriched'),
  Type.Literal('cold'),
  Type.Literal('warming'),
  Type.Literal('established'),
]);
export type ItemState = Static<typeof ItemState>;
/** An auxiliary feature the LLM reasons about for every item of a space. */
export const AuxFeature = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 64, description: 'Normalised to snake_case' }),
  description: Type.String({ maxLength: 500 }),
});
export type AuxFeature = Static<typeof AuxFeature>;

export { LIMITS } from './limits.js';
