// What the tests share: an event as the receiver publishes it, with changes.
export function eventJson(changes = {}) {
  return JSON.stringify({
    event_id: 'e-1', schema_version: 2, source: 's', provider: 'memories', task_id: 't',
    task_type: 'description', status: 'succeeded', model: null, text: null, title: null, segments: [],
    usage: { input_tokens: null, output_tokens: null, total_tokens: null, processing_ms: null },
    error: null, truncated: false, assets: [], occurred_at: null, received_at: '2026-12-07T03:00:00Z',
    delivery_id: null, extensions: {}, ...changes,
  });
}
