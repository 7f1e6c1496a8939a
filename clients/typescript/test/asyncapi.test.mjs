// The repository's asyncapi.yaml is a valid AsyncAPI 3 document whose event messages are the JSON Schemas.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Parser, fromFile } from '@asyncapi/parser';

const ERROR = 0;
const WARNING = 1;

test('asyncapi.yaml parses with no error or warning, its messages resolved', async () => {
  const path = fileURLToPath(new URL('../../../asyncapi.yaml', import.meta.url));
  const { document, diagnostics } = await fromFile(new Parser(), path).parse();
  const problems = diagnostics.filter((d) => d.severity === ERROR || d.severity === WARNING);
  assert.deepEqual(problems.map((d) => `${d.code}: ${d.message} at ${d.path.join('.')}`), []);
  assert.ok(document);
  const channels = document.channels().all().map((channel) => channel.address());
  assert.deepEqual(channels.sort(), [
    '{prefix}:dlq', '{prefix}:dlq:{partition}', '{prefix}:events', '{prefix}:events:{partition}', '{stream}:poison',
  ].sort());
  const messages = Object.fromEntries(document.components().messages().all().map((m) => [m.id(), m]));
  for (const version of [1, 2]) {
    const payload = messages[`eventV${version}`].payload();
    assert.equal(payload.properties().schema_version.const(), version);
    assert.ok(payload.required().includes('event_id'));
  }
  assert.ok(messages.deadLetter.payload().properties().body);
});
