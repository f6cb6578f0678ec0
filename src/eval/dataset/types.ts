// The generic dataset every part of the offline evaluation reads (docs/datasets.md): items with raw
// features and optional extra text, users with optional features, and 0/1 interactions in time.
// Items and users are numbered from 1 in list order, so `number - 1` is a row of any table.

export type FeatureValue = string | number | string[];

export interface DatasetItem {
  id: string;
  /** raw features every method may use */
  features: Record<string, FeatureValue>;
  /** extra item text (an LLM's or a catalogue's), read only by EmerFlow's text path; null when none */
  text: Record<string, string> | null;
}

export interface DatasetUser {
  id: string;
  features: Record<string, string | number>;
}

export interface Interaction {
  /** user number: index in `Dataset.users` + 1 */
  user: number;
  /** item number: index in `Dataset.items` + 1 */
  item: number;
  label: 0 | 1;
  /** Unix seconds */
  ts: number;
  /** line order in the file, 0-based: breaks ties between equal timestamps */
  order: number;
}

export interface Dataset {
  name: string;
  items: DatasetItem[];
  /** users.csv rows in file order, then users seen only in interactions.csv in order of first appearance */
  users: DatasetUser[];
  interactions: Interaction[];
}
