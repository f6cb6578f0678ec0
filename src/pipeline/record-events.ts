// Interaction events arrive (event pipeline): stored once per event id, counted on their
// item, and each emerging item touched gets its refine task bumped — however many events
// it received, one refinement follows. One statement does all three (see
// db/interactions.ts recordEventsStatement for why).
import type { Db } from '../db/pool.js';
import { recordEventsStatement, type EventIn } from '../db/interactions.js';
import type { Trace } from './enqueue.js';

export async function recordEvents(db: Db, spaceId: string, events: EventIn[], trace: Trace): Promise<{ accepted: number; duplicates: number }> {
  const accepted = await recordEventsStatement(db, spaceId, events, trace.requestId);
  return { accepted, duplicates: events.length - accepted };
}
