-- Atomic dedupe and publish for a batch of canonical events (one call, one round trip).
--
-- KEYS, two per event: the events stream and the task's hash. The hash holds, per task, each status
-- published (field: the status, value: its stream entry id), the highest rank published ('~rank'),
-- one marker per delivery id accepted ('~d:<delivery id>'), why each entry was published
-- ('~why:<entry id>'), the event id of a status's incomplete event while it is not superseded
-- ('~i:<status>'), and the entry id of the incomplete event a status's complete one superseded
-- ('~x:<status>'). All keys of one call share a partition, hence one hash slot on a cluster.
-- ARGV[1] dedupe ttl (seconds), ARGV[2] 'peek' to write nothing (else ''), then thirteen per event (no
-- trimming here: receiver/services/retention.py archives and trims in the background, so that nothing is
-- trimmed unseen):
-- event_id, status, rank, delivery_id ('' when none), event json, source, provider, task_id, schema_version,
-- traceparent ('' when tracing is off: the entry then has no traceparent field), incomplete ('1' or ''),
-- supersedes (the event id of the incomplete event it replaces, or ''), why.
--
-- Returns, per event, the new stream entry id, or 'duplicate', 'stale', or 'incomplete <event id>'
-- when the status is held by that incomplete event (receiver/core/decision.py decides what follows). A
-- superseding event is appended only while the event it names still holds the status: once at most.
-- A peek answers the same refusals, and '' where the event would be appended.
local ttl, peek = tonumber(ARGV[1]), ARGV[2] == 'peek'
local TERMINAL = 2
local results = {}
for i = 0, #KEYS / 2 - 1 do
  local stream, task = KEYS[2 * i + 1], KEYS[2 * i + 2]
  local a = 2 + 13 * i
  local event_id, status, rank, delivery_id = ARGV[a + 1], ARGV[a + 2], tonumber(ARGV[a + 3]), ARGV[a + 4]
  local incomplete, supersedes, why = ARGV[a + 11], ARGV[a + 12], ARGV[a + 13]
  local delivery_field = delivery_id ~= '' and ('~d:' .. delivery_id) or '~rank'
  local seen = redis.call('HMGET', task, status, '~rank', delivery_field, '~i:' .. status)
  local top = tonumber(seen[2] or '-1')
  if supersedes ~= '' then
    if seen[4] ~= supersedes then
      results[i + 1] = 'duplicate'
    end
  elseif seen[1] or (delivery_id ~= '' and seen[3]) then
    results[i + 1] = seen[4] and ('incomplete ' .. seen[4]) or 'duplicate'
  elseif rank < top or top == TERMINAL then
    results[i + 1] = 'stale'
  end
  if not results[i + 1] and peek then
    results[i + 1] = ''
  elseif not results[i + 1] then
    local fields = {'event', ARGV[a + 5], 'event_id', event_id, 'source', ARGV[a + 6], 'provider', ARGV[a + 7],
                    'task_id', ARGV[a + 8], 'status', status, 'schema_version', ARGV[a + 9]}
    if ARGV[a + 10] ~= '' then
      fields[#fields + 1] = 'traceparent'
      fields[#fields + 1] = ARGV[a + 10]
    end
    local id = redis.call('XADD', stream, '*', unpack(fields))
    local marks = {status, id, '~rank', math.max(rank, top), '~why:' .. id, why}
    if delivery_id ~= '' then
      marks[#marks + 1] = delivery_field
      marks[#marks + 1] = event_id
    end
    if incomplete ~= '' then
      marks[#marks + 1] = '~i:' .. status
      marks[#marks + 1] = event_id
    end
    if supersedes ~= '' then
      marks[#marks + 1] = '~x:' .. status
      marks[#marks + 1] = seen[1] or ''
      redis.call('HDEL', task, '~i:' .. status)
    end
    redis.call('HSET', task, unpack(marks))
    redis.call('EXPIRE', task, ttl)
    results[i + 1] = id
  end
end
return results
