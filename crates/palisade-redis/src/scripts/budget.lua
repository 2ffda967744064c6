-- palisade-redis: the refused-credential budget of one address block, and
-- its suppression window, in one atomic step (GCRA, integer microseconds).
--
-- Model (the same as palisade's in-process budget): the block's hash holds
--   tat          the GCRA theoretical arrival time (µs; see limit.lua)
--   wo           "1" while a suppression window is open
--   ws, wl       the window's start and its last refusal (server/caller µs)
--   wc           refusals suppressed in the window (not audited one by one)
--   wf, wt       the request times (ms) of the first and last of them
-- check (ARGV[6] = "check"), with T, tau = ARGV[2], ARGV[3]:
--   within budget (tat' - now <= tau): tat := tat' + T, verdict 0 (audit it);
--     the window, if open, stays open until its length ARGV[4] has passed
--     since ws, then it is closed and reported (ended).
--   over budget: no window open -> open one, verdict 1 (audit this one, say
--     the rest are suppressed); open -> (if its length has passed, report it
--     and start a new one) count it, verdict 2 (not audited one by one).
-- drain (ARGV[6] = "drain"): a window idle for its length (now - wl >= len)
--   is closed and reported.
-- TTL: (tat - now) + 2 * window length + ARGV[7] ms of slack, so an open
-- window outlives a drain period.
--
-- Reply: {verdict (0, 1, 2; 3 for drain), retry_us, ended_count,
--         ended_first_ms, ended_last_ms, now}; ended_count 0 = nothing ended.
-- KEYS[1]: the block's key. ARGV[1]: now in µs or "" for the server's TIME;
-- ARGV[5]: the request's time (ms) for the report.

local now
if ARGV[1] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
else
  now = tonumber(ARGV[1])
end
local k = KEYS[1]
local T, tau, len = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local at_ms = ARGV[5]
local h = redis.call('HMGET', k, 'tat', 'wo', 'ws', 'wl', 'wc', 'wf', 'wt')
local tat = tonumber(h[1] or now) or now
if tat < now then tat = now end
local open = h[2] == '1'
local ws, wl, wc = tonumber(h[3] or 0), tonumber(h[4] or 0), tonumber(h[5] or 0)
local wf, wt = h[6] or '0', h[7] or '0'
local ended_c, ended_f, ended_t = 0, '0', '0'

local function f(x) return string.format('%.0f', x) end
local function close()
  if wc > 0 then ended_c, ended_f, ended_t = wc, wf, wt end
  open = false
  redis.call('HDEL', k, 'wo', 'ws', 'wl', 'wc', 'wf', 'wt')
end

if ARGV[6] == 'drain' then
  if open and now - wl >= len then close() end
  return {3, 0, ended_c, tonumber(ended_f), tonumber(ended_t), now}
end

local verdict, retry = 0, 0
if tat - now <= tau then
  tat = tat + T
  redis.call('HSET', k, 'tat', f(tat))
  if open and now - ws >= len then close() end
else
  retry = tat - tau - now
  if not open then
    redis.call('HSET', k, 'wo', '1', 'ws', f(now), 'wl', f(now), 'wc', '0', 'wf', at_ms, 'wt', at_ms)
    verdict = 1
  else
    if now - ws >= len then
      if wc > 0 then ended_c, ended_f, ended_t = wc, wf, wt end
      ws, wc = now, 0
    end
    if wc == 0 then wf = at_ms end
    wc = wc + 1
    redis.call('HSET', k, 'wo', '1', 'ws', f(ws), 'wl', f(now), 'wc', f(wc), 'wf', wf, 'wt', at_ms)
    verdict = 2
  end
end
if tat < now then tat = now end
redis.call('PEXPIRE', k, math.ceil((tat - now + 2 * len) / 1000) + tonumber(ARGV[7]))
return {verdict, retry, ended_c, tonumber(ended_f), tonumber(ended_t), now}
