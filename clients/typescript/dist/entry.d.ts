/** One stream entry to one typed event: the version the event names picks the type. */
import type { VideohooksCanonicalEventV1 } from './generated/event.v1.js';
import type { VideohooksCanonicalEventV2 } from './generated/event.v2.js';
export type EventV1 = VideohooksCanonicalEventV1;
export type EventV2 = VideohooksCanonicalEventV2;
export type { Asset, Segment, Usage } from './generated/event.v2.js';
/** An event of a `schema_version` this package does not know (a receiver newer than the package). */
export declare class UnknownEvent {
    readonly schemaVersion: unknown;
    readonly data: Record<string, unknown>;
    constructor(schemaVersion: unknown, data: Record<string, unknown>);
    /** Every version carries `event_id`, the key of idempotent handling. */
    get eventId(): string | undefined;
}
export type Event = EventV1 | EventV2 | UnknownEvent;
/** The entry holds no videohooks event: no `event` field, not JSON, or not the event envelope. */
export declare class EntryError extends Error {
    name: string;
}
type Text = string | Uint8Array;
/** An entry's fields: node-redis's object (or Map), or ioredis's flat `[field, value, ...]` array. */
export type EntryFields = Record<string, Text> | Map<Text, Text> | readonly Text[];
/** The fields as a plain object of strings, whichever client read them. */
export declare function entryFields(fields: EntryFields): Record<string, string>;
/** Throws EntryError naming the first envelope field that is missing or of the wrong type. */
export declare function checkEnvelope(data: Record<string, unknown>): void;
/** The event JSON (the entry's `event` field) as a typed event. */
export declare function parseEvent(json: Text): Event;
/** A stream entry's fields, as node-redis or ioredis return them, as a typed event. */
export declare function parseEntry(fields: EntryFields): Event;
