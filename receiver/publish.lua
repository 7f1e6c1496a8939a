-- Atomic dedupe and publish for a batch of canonical events (one call, one round trip).
--
-- KEYS, two per event: the events stream and the task's hash. The hash holds, per task, each status
-- published (field: the status, value: its stream entry id), the highest rank published ('~rank'),
-- and one marker per delivery id accepted ('~d:<delivery id>'). All keys of one call share a
-- partition, hence one hash slot on a cluster.
-- ARGV[1] dedupe ttl (seconds), then ten per event (no trimming here: receiver/services/retention.py archives
-- and trims in the background, so that nothing is trimmed unseen):
-- event_id, status, rank, delivery_id ('' when none), event json, source, provider, task_id, schema_version,
-- traceparent ('' when tracing is off: the entry then has no traceparent field).
--
-- Returns, per event, the new stream entry id, or 'duplicate' or 'stale'. Four commands per event.
local ttl = tonumber(ARGV[1])
local TERMINAL = 2
local results = {}
for i = 0, #KEYS / 2 - 1 do
  local stream, task = KEYS[2 * i + 1], KEYS[2 * i + 2]
  local a = 1 + 10 * i
  local event_id, status, rank, delivery_id = ARGV[a + 1], ARGV[a + 2], tonumber(ARGV[a + 3]), ARGV[a + 4]
  local delivery_field = delivery_id ~= '' and ('~d:' .. delivery_id) or '~rank'
  local seen = redis.call('HMGET', task, status, '~rank', delivery_field)
  local top = tonumber(seen[2] or '-1')
  if seen[1] or (delivery_id ~= '' and seen[3]) then
    results[i + 1] = 'duplicate'
  elseif rank < top or top == TERMINAL then
    results[i + 1] = 'stale'
  else
    local fields = {'event', ARGV[a + 5], 'event_id', event_id, 'source', ARGV[a + 6], 'provider', ARGV[a + 7],
                    'task_id', ARGV[a + 8], 'status', status, 'schema_version', ARGV[a + 9]}
    if ARGV[a + 10] ~= '' then
      fields[#fields + 1] = 'traceparent'
      fields[#fields + 1] = ARGV[a + 10]
    end
    local id = redis.call('XADD', stream, '*', unpack(fields))
    if delivery_id ~= '' then
      redis.call('HSET', task, status, id, '~rank', math.max(rank, top), delivery_field, event_id)
    else
      redis.call('HSET', task, status, id, '~rank', math.max(rank, top))
    end
    redis.call('EXPIRE', task, ttl)
    results[i + 1] = id
  end
end
return results
