/**
 * A consumer-group loop over every partition, as in the Python package: at least once, shared work,
 * a dead consumer's entries reclaimed (XAUTOCLAIM after `minIdleMs`), XACK after the handler returns,
 * and an entry delivered `maxAttempts` times whose handler still fails moved to `<stream>:poison` and
 * acknowledged in one atomic step. Works with node-redis and ioredis (raw commands, RESP2 replies),
 * on Redis 6.2 (XAUTOCLAIM answers two elements, an entry trimmed while pending comes back null) and
 * 7+ (three elements).
 */
import { type Event } from './entry.js';
/** node-redis (`sendCommand`) or ioredis (`call`). A blocking read holds the connection: give
 * `consume` a client of its own (node-redis: `client.duplicate()`). */
export type RedisClient = {
    call(command: string, ...args: Array<string | number>): Promise<unknown>;
} | {
    sendCommand(args: string[]): Promise<unknown>;
};
export interface Delivery {
    stream: string;
    entryId: string;
    event: Event;
    traceparent: string | undefined;
    /** 1 on first delivery, more after reclaims. */
    attempt: number;
}
export type Handler = (delivery: Delivery) => unknown | Promise<unknown>;
export interface ConsumeOptions {
    maxAttempts?: number;
    minIdleMs?: number;
    blockMs?: number;
    count?: number;
    /** Stops the loop after the current pass (an entry being handled is finished first). */
    signal?: AbortSignal;
}
export declare const poisonStream: (stream: string) => string;
export declare function consume(client: RedisClient, streams: readonly string[], group: string, consumer: string, handler: Handler, options?: ConsumeOptions): Promise<void>;
