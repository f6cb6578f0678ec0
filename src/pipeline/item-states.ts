// An item's life as named transitions. The SQL that writes them lives in db/ (the state
// changes with the write that causes it, in one statement); this is the map.
//
//   received ──enrichment stored──► enriched
//   received | enriched | cold | warming ──embedded (no scored events)──► cold
//   received | enriched | cold | warming ──embedded or refined with events──► warming
//   any ──the recommender's own vector──► established   (final: never emerging again)
//
// An emerging item keeps serving its newest embedding while any step re-runs; nothing
// moves it back from `established`.
import type { ItemState } from '../api/schemas.js';

export type { ItemState };

export const ITEM_TRANSITIONS = {
  ingested: { to: 'received', by: 'ingestItems (a new emerging item)' },
  enriched: { to: 'enriched', from: ['received'], by: 'storeEnrichment' },
  embedded: { to: 'cold', from: ['received', 'enriched', 'cold', 'warming'], by: 'storeColdEmbeddings, no scored events' },
  warmed: {
    to: 'warming',
    from: ['received', 'enriched', 'cold', 'warming'],
    by: 'storeColdEmbeddings or storeRefinedEmbeddings, with events',
  },
  established: { to: 'established', by: 'ingestItems with an embedding' },
} as const satisfies Record<string, { to: ItemState; from?: readonly ItemState[]; by: string }>;

export const isEmerging = (state: ItemState): boolean => state !== 'established';
