// The batch limits of the bulk routes, in a module that imports nothing: the typed client
// (src/client) splits its batches by them without loading the schema library.

/** Batch limits: above them a request gets 413 naming the limit. */
export const LIMITS = { users: 50_000, items: 5_000, events: 50_000, lookup: 1_000 } as const;
