-- palisade-redis: key, project and tenant limits of one request, all or
-- nothing, in one atomic step (GCRA, integer microseconds).
--
-- Model (the same as palisade::gcra, ITU-T I.371 virtual scheduling): each
-- limit i stores one number, its theoretical arrival time tat_i (µs), under
-- KEYS[i]. With emission interval T_i and tolerance tau_i = T_i*(burst_i-1):
--
--   tat_i'  = max(tat_i, now)                 (missing key: tat_i = now)
--   limit i allows iff tat_i' - now <= tau_i   (else retry after tat_i' - tau_i - now)
--   the request is allowed iff every limit allows; then, and only then,
--   every tat_i := tat_i' + T_i, stored with a TTL of (tat_i - now) rounded up
--   to whole ms plus a slack (an expired key is indistinguishable from
--   tat <= now; the slack covers a caller clock that runs behind Redis's).
--   remaining_i = floor((now + tau_i + T_i - tat_i) / T_i)   (after this request)
--   reset_i     = tat_i - now                               (until fully replenished)
--
-- Reply when allowed:  {1, level, remaining, reset_us, now}
--   level = the limit with the fewest requests left (the first of equals).
-- Reply when refused:  {0, level, retry_us, 0, now}
--   level = the refusing limit with the longest wait (the first of equals):
--   when the request may be retried, every limit will allow it.
-- Nothing is written when refused.
--
-- KEYS: 1 to 3 limit keys, all with the tenant's hash tag (one slot).
-- ARGV[1]: now in µs, or "" to read the server's TIME (one clock per shard).
-- ARGV[2]: the TTL slack (ms).
-- ARGV[2*i+1], ARGV[2*i+2]: T_i and tau_i of KEYS[i] (µs).
-- Lua numbers are doubles: every value here stays below 2^53 µs (285 years).

local now
if ARGV[1] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
else
  now = tonumber(ARGV[1])
end

local slack = tonumber(ARGV[2])
local n = #KEYS
local tats = {}
local worst, worst_wait = 0, -1
for i = 1, n do
  local tat = tonumber(redis.call('GET', KEYS[i]) or now) or now
  if tat < now then tat = now end
  local tau = tonumber(ARGV[2 * i + 2])
  if tat - now > tau then
    local wait = tat - tau - now
    if wait > worst_wait then worst, worst_wait = i, wait end
  end
  tats[i] = tat
end
if worst > 0 then
  return {0, worst, worst_wait, 0, now}
end

local best, best_left, best_reset = 1, -1, 0
for i = 1, n do
  local t = tonumber(ARGV[2 * i + 1])
  local tau = tonumber(ARGV[2 * i + 2])
  local tat = tats[i] + t
  local left = math.floor((now + tau + t - tat) / t)
  local reset = tat - now
  redis.call('SET', KEYS[i], string.format('%.0f', tat), 'PX', math.ceil(reset / 1000) + slack)
  if best_left < 0 or left < best_left then
    best, best_left, best_reset = i, left, reset
  end
end
return {1, best, best_left, best_reset, now}
