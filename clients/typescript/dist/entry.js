/** An event of a `schema_version` this package does not know (a receiver newer than the package). */
export class UnknownEvent {
    schemaVersion;
    data;
    constructor(schemaVersion, data) {
        this.schemaVersion = schemaVersion;
        this.data = data;
    }
    /** Every version carries `event_id`, the key of idempotent handling. */
    get eventId() {
        return typeof this.data.event_id === 'string' ? this.data.event_id : undefined;
    }
}
/** The entry holds no videohooks event: no `event` field, not JSON, or not the event envelope. */
export class EntryError extends Error {
    name = 'EntryError';
}
const decoder = new TextDecoder();
const text = (value) => (typeof value === 'string' ? value : decoder.decode(value));
/** The fields as a plain object of strings, whichever client read them. */
export function entryFields(fields) {
    const result = {};
    if (Array.isArray(fields)) {
        for (let index = 0; index + 1 < fields.length; index += 2) {
            result[text(fields[index])] = text(fields[index + 1]);
        }
    }
    else if (fields instanceof Map) {
        for (const [name, value] of fields)
            result[text(name)] = text(value);
    }
    else {
        for (const [name, value] of Object.entries(fields))
            result[name] = text(value);
    }
    return result;
}
// What every known version has, checked at run time: the types promise the rest.
const ENVELOPE = [
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
export function checkEnvelope(data) {
    for (const [name, valid, what] of ENVELOPE) {
        if (!valid(data[name]))
            throw new EntryError(`the event's ${name} is not ${what}`);
    }
}
/** The event JSON (the entry's `event` field) as a typed event. */
export function parseEvent(json) {
    let data;
    try {
        data = JSON.parse(text(json));
    }
    catch (error) {
        throw new EntryError(`the event field is not JSON: ${error.message}`);
    }
    if (typeof data !== 'object' || data === null || Array.isArray(data)) {
        throw new EntryError('the event field is not a JSON object');
    }
    const event = data;
    if (event.schema_version !== 1 && event.schema_version !== 2) {
        return new UnknownEvent(event.schema_version, event);
    }
    checkEnvelope(event);
    return event;
}
/** A stream entry's fields, as node-redis or ioredis return them, as a typed event. */
export function parseEntry(fields) {
    const named = entryFields(fields);
    if (named.event === undefined) {
        throw new EntryError(`the entry has no event field (fields: ${Object.keys(named).sort().join(', ')})`);
    }
    return parseEvent(named.event);
}
