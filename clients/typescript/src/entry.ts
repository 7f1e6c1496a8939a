/** One stream entry to one typed event: the version the event names picks the type. */
import type { VideohooksCanonicalEventV1 } from './generated/event.v1.js';
import type { VideohooksCanonicalEventV2 } from './generated/event.v2.js';

export type EventV1 = VideohooksCanonicalEventV1;
export type EventV2 = VideohooksCanonicalEventV2;
export type { Asset, Segment, Usage } from './generated/event.v2.js';

/** An event of a `schema_version` this package does not know (a receiver newer than the package). */
export class UnknownEvent {
  constructor(
    readonly schemaVersion: unknown,
    readonly data: Record<string, unknown>,
  ) {}

  /** Every version carries `event_id`, the key of idempotent handling. */
  get eventId(): string | undefined {
    return typeof this.data.event_id === 'string' ? this.data.event_id : undefined;
  }
}

export type Event = EventV1 | EventV2 | UnknownEvent;

/** The entry holds no videohooks event: no `event` field, not JSON, or not the event envelope. */
export class EntryError extends Error {
  override name = 'EntryError';
}

type Text = string | Uint8Array;
/** An entry's fields: node-redis's object (or Map), or ioredis's flat `[field, value, ...]` array. */
export type EntryFields = Record<string, Text> | Map<Text, Text> | readonly Text[];

const decoder = new TextDecoder();
const text = (value: Text): string => (typeof value === 'string' ? value : decoder.decode(value));

/** The fields as a plain object of strings, whichever client read them. */
export function entryFields(fields: EntryFields): Record<string, string> {
  const result: Record<string, string> = {};
  if (Array.isArray(fields)) {
    for (let index = 0; index + 1 < fields.length; index += 2) {
      result[text(fields[index] as Text)] = text(fields[index + 1] as Text);
    }
  } else if (fields instanceof Map) {
    for (const [name, value] of fields) result[text(name)] = text(value);
  } else {
    for (const [name, value] of Object.entries(fields as Record<string, Text>)) result[name] = text(value);
  }
  return result;
}

// What every known version has, checked at run time: the types promise the rest.
const ENVELOPE: ReadonlyArray<[string, (value: unknown) => boolean, string]> = [
  ['event_id', (v) => typeof v === 'string', 'a string'],
  ['source', (v) => typeof v === 'string', 'a string'],
  ['provider', (v) => typeof v === 'string', 'a string'],
  ['task_id', (v) => typeof v === 'string', 'a string'],
  ['task_type', (v) => typeof v === 'string', 'a string'],
  ['status', (v) => typeof v === 'string', 'a string'],
  ['received_at', (v) => typeof v === 'string', 'a string'],
  ['segments', Array.isArray, 'an array'],
  ['assets', Array.isArray, 'an array'],
  ['usage', (v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'an object'],
  ['extensions', (v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'an object'],
];

/** Throws EntryError naming the first envelope field that is missing or of the wrong type. */
export function checkEnvelope(data: Record<string, unknown>): void {
  for (const [name, valid, what] of ENVELOPE) {
    if (!valid(data[name])) throw new EntryError(`the event's ${name} is not ${what}`);
  }
}

/** The event JSON (the entry's `event` field) as a typed event. */
export function parseEvent(json: Text): Event {
  let data: unknown;
  try {
    data = JSON.parse(text(json));
  } catch (error) {
    throw new EntryError(`the event field is not JSON: ${(error as Error).message}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new EntryError('the event field is not a JSON object');
  }
  const event = data as Record<string, unknown>;
  if (event.schema_version !== 1 && event.schema_version !== 2) {
    return new UnknownEvent(event.schema_version, event);
  }
  checkEnvelope(event);
  return event as unknown as EventV1 | EventV2;
}

/** A stream entry's fields, as node-redis or ioredis return them, as a typed event. */
export function parseEntry(fields: EntryFields): Event {
  const named = entryFields(fields);
  if (named.event === undefined) {
    throw new EntryError(`the entry has no event field (fields: ${Object.keys(named).sort().join(', ')})`);
  }
  return parseEvent(named.event);
}
