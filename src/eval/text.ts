// Item text for EmerFlow: each item's raw features, and the extra text (an LLM's or a catalogue's)
// that only EmerFlow's text path reads. Which extra text an item has is the dataset's business
// (dataset/load.ts: --text picks the source for ml-100k; a directory brings its own).
import type { Dataset } from './dataset/types.js';

export type TextMode = 'llm' | 'imdb' | 'none';

export interface ItemText {
  raw: Record<string, unknown>;
  enrichment: Record<string, string> | null;
}

/** item number → its raw features (every method may use them) and its enrichment (EmerFlow only). */
export function itemTexts(ds: Dataset): Map<number, ItemText> {
  return new Map(ds.items.map((it, j) => [j + 1, { raw: it.features, enrichment: it.text }]));
}
