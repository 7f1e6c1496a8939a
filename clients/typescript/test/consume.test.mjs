// consume() against the real Redis that REDIS_URL names: partitions, unknown fields and versions, a
// group shared with reclaim of a dead consumer's entries, poison entries.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { createClient } from 'redis';
import { UnknownEvent, consume, poisonStream } from '../dist/index.js';
import { eventJson } from './support.mjs';

const url = process.env.REDIS_URL;
if (!url) throw new Error('set REDIS_URL to a Redis these tests may write to (make test does)');
const prefix = `ts-${randomUUID().slice(0, 8)}`;
let redis;

before(async () => {
  redis = await createClient({ url }).connect();
});

after(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(keys);
  await redis.quit();
});

/** Runs consumers (each on a connection of its own) until `done()` says so, then stops them. */
async function until(done, ...consumers) {
  const controller = new AbortController();
  const clients = await Promise.all(consumers.map(() => createClient({ url }).connect()));
  const loops = consumers.map((start, index) => start(clients[index], controller.signal));
  const deadline = Date.now() + 60_000;
  try {
    while (!(await done())) {
      assert.ok(Date.now() < deadline, 'timed out');
      await Promise.race([new Promise((resolve) => setTimeout(resolve, 10)), ...loops]);
    }
  } finally {
    controller.abort();
    await Promise.all(loops);
    await Promise.all(clients.map((client) => client.quit()));
  }
}

test('typed events over every partition, an extra field and a future version included', async () => {
  const streams = [`${prefix}:events:{0}`, `${prefix}:events:{1}`];
  await redis.xAdd(streams[0], '*', { event: eventJson({ event_id: 'a', mood: 'calm' }), schema_version: '2' });
  await redis.xAdd(streams[1], '*', { event: eventJson({ event_id: 'b', schema_version: 9 }), traceparent: 'tp' });
  const seen = [];
  await until(
    () => seen.length === 2,
    (client, signal) => consume(client, streams, 'g', 'w', (d) => void seen.push(d), { blockMs: 20, signal }),
  );
  const [a, b] = seen.sort((x, y) => x.stream.localeCompare(y.stream));
  assert.equal(a.event.schema_version, 2);
  assert.equal(a.event.mood, 'calm');
  assert.equal(a.attempt, 1);
  assert.ok(b.event instanceof UnknownEvent);
  assert.equal(b.event.schemaVersion, 9);
  assert.equal(b.traceparent, 'tp');
  for (const stream of streams) assert.equal((await redis.xPending(stream, 'g')).pending, 0);
});

test('consumers share a group and take over a dead one\'s entries', async () => {
  const stream = `${prefix}:events:{share}`;
  for (let n = 0; n < 3; n += 1) await redis.xAdd(stream, '*', { event: eventJson({ event_id: `dead-${n}` }) });
  await redis.xGroupCreate(stream, 'g', '0');
  await redis.xReadGroup('g', 'dead', { key: stream, id: '>' }); // read, then died
  for (let n = 0; n < 20; n += 1) await redis.xAdd(stream, '*', { event: eventJson({ event_id: `new-${n}` }) });
  const seen = { one: [], two: [] };
  const worker = (name) => (client, signal) =>
    consume(client, [stream], 'g', name, (d) => void seen[name].push(d), {
      minIdleMs: 300, count: 2, blockMs: 20, signal,
    });
  await until(() => seen.one.length + seen.two.length === 23, worker('one'), worker('two'));
  const all = [...seen.one, ...seen.two];
  assert.deepEqual(new Set(all.map((d) => d.event.event_id)).size, 23);
  assert.deepEqual(new Set(all.filter((d) => d.event.event_id.startsWith('dead')).map((d) => d.attempt)), new Set([2]));
  assert.ok(seen.one.length > 0 && seen.two.length > 0);
  assert.equal((await redis.xPending(stream, 'g')).pending, 0);
});

test('an entry failing maxAttempts times goes to the poison stream', async () => {
  const stream = `${prefix}:events:{poison}`;
  const bad = await redis.xAdd(stream, '*', { event: eventJson({ event_id: 'bad' }), source: 's' });
  await redis.xAdd(stream, '*', { event: 'not json' });
  await redis.xAdd(stream, '*', { event: eventJson({ event_id: 'good' }) });
  const attempts = [];
  const good = [];
  const handler = (d) => {
    if (d.event.event_id === 'bad') {
      attempts.push(d.attempt);
      throw new Error('cannot handle it');
    }
    good.push(d.event.event_id);
  };
  await until(
    async () => (await redis.xLen(poisonStream(stream))) === 2,
    (client, signal) => consume(client, [stream], 'g', 'w', handler, { maxAttempts: 3, minIdleMs: 0, blockMs: 20, signal }),
  );
  assert.deepEqual(good, ['good']);
  assert.deepEqual(attempts, [1, 2, 3]);
  const aside = await redis.xRange(poisonStream(stream), '-', '+');
  const first = aside.find((entry) => entry.message.poison_entry_id === bad).message;
  assert.equal(first.source, 's');
  assert.equal(first.poison_attempts, '3');
  assert.match(first.poison_error, /cannot handle it/);
  assert.ok(aside.some((entry) => /EntryError/.test(entry.message.poison_error)));
  assert.equal((await redis.xPending(stream, 'g')).pending, 0);
});

test('an entry trimmed while pending is acknowledged, the rest handled (Redis 6.2 and 7)', async () => {
  const stream = `${prefix}:events:{trimmed}`;
  const gone = await redis.xAdd(stream, '*', { event: eventJson({ event_id: 'gone' }) });
  await redis.xAdd(stream, '*', { event: eventJson({ event_id: 'kept' }) });
  await redis.xGroupCreate(stream, 'g', '0');
  await redis.xReadGroup('g', 'dead', { key: stream, id: '>' });
  await redis.xDel(stream, gone);
  const seen = [];
  await until(
    async () => seen.length === 1 && (await redis.xPending(stream, 'g')).pending === 0,
    (client, signal) => consume(client, [stream], 'g', 'w', (d) => void seen.push(d.event.event_id), { minIdleMs: 0, blockMs: 20, signal }),
  );
  assert.deepEqual(seen, ['kept']);
});
