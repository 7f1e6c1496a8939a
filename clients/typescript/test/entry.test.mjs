// parseEntry on the field shapes of node-redis (an object) and ioredis (a flat array, strings or Buffers).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EntryError, UnknownEvent, parseEntry } from '../dist/index.js';
import { eventJson } from './support.mjs';

test('node-redis and ioredis shapes give the same typed event', () => {
  const fromObject = parseEntry({ event: eventJson(), event_id: 'e-1', schema_version: '2' });
  const fromArray = parseEntry(['event_id', 'e-1', 'event', eventJson()]);
  const fromBuffers = parseEntry([Buffer.from('event'), Buffer.from(eventJson())]);
  const fromMap = parseEntry(new Map([['event', eventJson()]]));
  for (const event of [fromObject, fromArray, fromBuffers, fromMap]) {
    assert.equal(event.schema_version, 2);
    assert.equal(event.task_id, 't');
  }
});

test('an unknown field is kept and a future version comes back raw', () => {
  const extra = parseEntry({ event: eventJson({ mood: 'calm' }) });
  assert.equal(extra.mood, 'calm');
  const future = parseEntry({ event: eventJson({ schema_version: 3, shape: 'new' }) });
  assert.ok(future instanceof UnknownEvent);
  assert.equal(future.schemaVersion, 3);
  assert.equal(future.eventId, 'e-1');
  assert.equal(future.data.shape, 'new');
});

test('what is not an event is refused by name', () => {
  assert.throws(() => parseEntry({ source: 's' }), (e) => e instanceof EntryError && /no event field/.test(e.message));
  assert.throws(() => parseEntry({ event: '{' }), /not JSON/);
  assert.throws(() => parseEntry({ event: '[1]' }), /not a JSON object/);
  assert.throws(() => parseEntry({ event: eventJson({ task_id: 7 }) }), /the event's task_id is not a string/);
  assert.throws(() => parseEntry({ event: eventJson({ usage: null }) }), /usage is not an object/);
});
