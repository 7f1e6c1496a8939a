/**
 * A consumer-group loop over every partition, as in the Python package: at least once, shared work,
 * a dead consumer's entries reclaimed (XAUTOCLAIM after `minIdleMs`), XACK after the handler returns,
 * and an entry delivered `maxAttempts` times whose handler still fails moved to `<stream>:poison` and
 * acknowledged in one atomic step. Works with node-redis and ioredis (raw commands, RESP2 replies),
 * on Redis 6.2 (XAUTOCLAIM answers two elements, an entry trimmed while pending comes back null) and
 * 7+ (three elements).
 */
import { entryFields, parseEntry } from './entry.js';
export const poisonStream = (stream) => `${stream}:poison`;
// The entry aside and acknowledged in one step. KEYS: stream, poison stream; ARGV: group, entry id,
// then field, value, ...
const POISON = `redis.call('XADD', KEYS[2], '*', unpack(ARGV, 3))
return redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])`;
function commands(client) {
    if ('call' in client && typeof client.call === 'function') {
        return (command, ...rest) => client.call(String(command), ...rest);
    }
    if ('sendCommand' in client && typeof client.sendCommand === 'function') {
        return (...args) => client.sendCommand(args.map(String));
    }
    throw new TypeError('consume needs a node-redis or ioredis client');
}
export async function consume(client, streams, group, consumer, handler, options = {}) {
    const { maxAttempts = 5, minIdleMs = 60_000, blockMs = 5_000, count = 100, signal } = options;
    if (maxAttempts < 1)
        throw new RangeError('maxAttempts must be at least 1');
    const redis = commands(client);
    for (const stream of streams) {
        try {
            await redis('XGROUP', 'CREATE', stream, group, '0', 'MKSTREAM');
        }
        catch (error) {
            if (!String(error.message).includes('BUSYGROUP'))
                throw error;
        }
    }
    const handle = async (stream, entryId, fields, attempt) => {
        if (!fields || fields.length === 0) {
            await redis('XACK', stream, group, entryId); // trimmed since it was delivered: nothing to hand over
            return;
        }
        try {
            if (attempt > maxAttempts)
                throw new Error(`delivered ${attempt - 1} times without being acknowledged`);
            const named = entryFields(fields);
            await handler({ stream, entryId, event: parseEntry(fields), traceparent: named.traceparent, attempt });
        }
        catch (error) {
            if (attempt >= maxAttempts) {
                const why = String(error?.stack ?? error).slice(0, 2000);
                const aside = [
                    ...fields,
                    ...['poison_stream', stream, 'poison_entry_id', entryId, 'poison_group', group],
                    ...['poison_attempts', String(attempt), 'poison_error', why],
                ];
                await redis('EVAL', POISON, 2, stream, poisonStream(stream), group, entryId, ...aside);
            }
            return;
        }
        await redis('XACK', stream, group, entryId);
    };
    const reclaim = async (stream, cursor) => {
        const reply = (await redis('XAUTOCLAIM', stream, group, consumer, minIdleMs, cursor, 'COUNT', count));
        const [next, claimed] = reply;
        const entries = claimed.filter((entry) => entry !== null);
        if (entries.length < claimed.length) {
            // Redis 6.2: an entry trimmed while pending comes back null, and stays pending: acknowledge it.
            const present = new Set(entries.map(([id]) => id));
            const pending = (await redis('XPENDING', stream, group, cursor, '+', count, consumer));
            for (const [id] of pending) {
                const there = (await redis('XRANGE', stream, id, id));
                if (!present.has(id) && there.length === 0)
                    await redis('XACK', stream, group, id);
            }
        }
        if (entries.length > 0) {
            const first = entries[0][0];
            const last = entries[entries.length - 1][0];
            const pending = (await redis('XPENDING', stream, group, first, last, entries.length, consumer));
            const attempts = new Map(pending.map(([id, , , deliveries]) => [id, Number(deliveries)]));
            for (const [id, fields] of entries)
                await handle(stream, id, fields, attempts.get(id) ?? 1);
        }
        return next;
    };
    const cursors = new Map(streams.map((stream) => [stream, '0-0']));
    while (!signal?.aborted) {
        for (const stream of streams)
            cursors.set(stream, await reclaim(stream, cursors.get(stream)));
        const ids = streams.map(() => '>');
        const reply = (await redis('XREADGROUP', 'GROUP', group, consumer, 'COUNT', count, 'BLOCK', blockMs, 'STREAMS', ...streams, ...ids));
        for (const [stream, entries] of reply ?? []) {
            for (const [id, fields] of entries)
                await handle(stream, id, fields, 1);
        }
    }
}
