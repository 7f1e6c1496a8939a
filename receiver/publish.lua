-- Atomic dedupe and publish for a batch of canonical events (one call, one round trip).
--
-- KEYS, three per event: events stream, task status hash, delivery marker (the task hash again when the
-- delivery has no id). All keys of one call share a partition, hence one hash slot on a cluster.
-- ARGV[1] dedupe ttl (seconds), ARGV[2] stream MAXLEN (0: no trimming), then nine per event:
-- event_id, status, rank, delivery_id ('' when none), event json, source, provider, task_id, schema_version.
--
-- Returns, per event, the new stream entry id, or 'duplicate' or 'stale'.
local ttl = tonumber(ARGV[1])
local maxlen = tonumber(ARGV[2])
local TERMINAL = 2
local results = {}
for i = 0, #KEYS / 3 - 1 do
  local stream, task, delivery = KEYS[3 * i + 1], KEYS[3 * i + 2], KEYS[3 * i + 3]
  local a = 2 + 9 * i
  local event_id, status, rank, delivery_id = ARGV[a + 1], ARGV[a + 2], tonumber(ARGV[a + 3]), ARGV[a + 4]
  local top = tonumber(redis.call('HGET', task, '~rank') or '-1')
  if delivery_id ~= '' and redis.call('EXISTS', delivery) == 1 then
    results[i + 1] = 'duplicate'
  elseif redis.call('HEXISTS', task, status) == 1 then
    results[i + 1] = 'duplicate'
  elseif rank < top or top == TERMINAL then
    results[i + 1] = 'stale'
  else
    local fields = {'event', ARGV[a + 5], 'event_id', event_id, 'source', ARGV[a + 6], 'provider', ARGV[a + 7],
                    'task_id', ARGV[a + 8], 'status', status, 'schema_version', ARGV[a + 9]}
    local id
    if maxlen > 0 then
      id = redis.call('XADD', stream, 'MAXLEN', '~', maxlen, '*', unpack(fields))
    else
      id = redis.call('XADD', stream, '*', unpack(fields))
    end
    redis.call('HSET', task, status, id, '~rank', math.max(rank, top))
    redis.call('EXPIRE', task, ttl)
    if delivery_id ~= '' then
      redis.call('SET', delivery, event_id, 'EX', ttl)
    end
    results[i + 1] = id
  end
end
return results
