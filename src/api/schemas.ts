// Schemas shared by several routes. Types come from them via Static<>.
import { Type } from 'typebox';

export const Id = Type.String({ minLength: 1, maxLength: 256 });
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
