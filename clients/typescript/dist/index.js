/**
 * Typed readers of the events videohooks publishes to Redis Streams.
 *
 * `parseEntry(fields)` turns a stream entry (as node-redis or ioredis return it) into an `EventV1` or
 * `EventV2` (types generated from videohooks' published JSON Schemas, open to fields they do not
 * list), or an `UnknownEvent` holding the raw object of a `schema_version` this package does not know.
 * `consume(...)` runs a consumer group over every partition: reclaim, ack after the handler, poison.
 */
export { EntryError, UnknownEvent, checkEnvelope, entryFields, parseEntry, parseEvent, } from './entry.js';
export { consume, poisonStream } from './consume.js';
