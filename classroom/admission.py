"""Admission at the door: what the workers can process now, shared fairly between the live classes, and told to
each class's client as the rate it may send (``max_fps``).

Past its capacity a queue only turns overload into lateness: every class's dashboard falls seconds behind at
once. So the door keeps the work in the system small instead:

- **Capacity** is learned, not configured, from how long frames take from upload to stored: the figure the
  service promises (p95 under a second). The domain notes each frame's time when it stores or closes it
  (:func:`frame_finished`). The door looks at the frames that arrived in the last :data:`WINDOW_SECONDS` and after
  its last cut (what the current figure brought about) and holds their slowest tenth to
  ``ADMISSION_TARGET_LATENCY_SECONDS`` (0.6 s: the figure acts on what it learns seconds late, so it aims under the
  promised second). Above it, with more frames in flight (a sorted set of arrival times) than the workers store in
  that time (a backlog, by Little's law; a few slow frames are not too many) once frames have come out for
  :data:`STORED_SECONDS` (the workers' first frames are slow, and a start is a burst), or with a frame in flight for
  longer than twice ``INGEST_MAX_WAIT_SECONDS``, the workers are behind, and the admitted frames per second are cut
  to :data:`FLOOR_SHARE` of what the workers stored in the last :data:`STORED_SECONDS` (never raised by a cut;
  frames dropped unread do not count). Frames come out late because a backlog waits, so the workers are busy:
  what they store is what they can do, and a little under it lets the backlog drain. A cut by a fixed factor (85%,
  as before) knew nothing of that rate: a frame's time is known only seconds after the figure that let it in, so
  cut after cut took the figure far under what the workers store and the cores sat idle while classes were
  refused, or, from far above it, took many cuts to come down while the backlog grew (TCP BBR paces from the
  measured delivery rate for the same reason). While the slowest tenth stays under :data:`HEADROOM` of the target
  (too few frames say nothing, and the figure holds), the figure grows by :data:`INCREASE` an update, finding out
  whether the workers can do more. Frames that would be late are then never accepted, rather than accepted and
  read late. A slower deployment (a database across the network) is held to fewer frames by the same rule: the
  promise is the same.
- **Fair shares.** Each class asks for its client's rate (``X-Wanted-FPS``, 1 unless said). The capacity is
  shared max-min fairly (water filling): a class asking for less than an equal share gets what it asks, the rest
  is split equally between the others. A class's share is its ``max_fps``; it is enforced by the class's own
  token bucket, so a class over its share is refused (429) before a class under it, and no class can starve
  another. ``INGEST_RATE_PER_SECOND`` stays the ceiling of any one class.
- **The window.** The rates act on what they learn seconds late; a start's burst, or workers slower than the
  figure, would meanwhile queue frames that come out many seconds late and then keep the backlog (a cut to a little
  under the stored rate drains it slowly). So, whatever the rates, a frame is let in only while fewer frames are in
  flight than the workers store in :data:`WINDOW_TARGETS` targets (at least :data:`MIN_WINDOW`: a start has stored
  nothing yet): by Little's law, one let in waits about that long. Past it, the upload is told the workers are
  behind and when to retry, and keeps its class's token. A concurrency limit beside the rate, as TCP's congestion
  window beside its pacing.
- **The teacher is told.** Each class's last share and whether it is below what its client wants
  (:func:`session_sampling`) go out with the live page's frame counters.

One Lua script does all of it in one round trip per upload, atomically for every web process.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import redis
from django.conf import settings

from classroom import live_state

INCREASE = 0.03  # growth per update while the workers keep up, as a share of the capacity (at least STEP_FPS)
STEP_FPS = 0.5
HEADROOM = 0.8  # the figure grows while the slowest tenth stays under this share of the target
UPDATE_SECONDS = 0.5  # the capacity is re-decided at most this often
HOLD_SECONDS = 2.0  # after a cut, the next cut waits this long: the queue needs a moment to drain
MIN_CAPACITY_FPS = 1.0
MAX_CAPACITY_FPS = 10_000.0  # "unbounded": the workers keep up with everything offered
ACTIVE_SECONDS = 5.0  # a class that has not uploaded for this long has no share
FORGET_SECONDS = 30.0  # a frame in flight this long is lost to a dead worker: it no longer says the workers are behind
WINDOW_SECONDS = 3.0  # frames that arrived this recently (and after the last cut) say whether the workers keep up
MIN_FRAMES = 3  # fewer finished frames than this in the window say nothing: the figure holds (grows when idle)
QUANTILE = 0.9  # the quantile of recent frames' times held to the target: the promise is on the tail
FLOOR_SHARE = 0.9  # a cut takes the capacity to this share of the workers' stored rate: a little under it, so a backlog drains
STORED_SECONDS = 5.0  # the stored rate is counted over this long: long enough to average out the frames' bunching
WINDOW_TARGETS = 2.0  # frames in flight at most what the workers store in this many targets (1.2 s at 0.6): a frame
# let in past that comes out after the promised second anyway, so refusing it costs the promise nothing
MIN_WINDOW = 6  # frames in flight however few the workers stored lately (a start has stored none): the two ingest
# processes, the inference one and a frame waiting for each, none of them queueing behind another
SAMPLING_TTL_SECONDS = 60
DEFAULT_WANTED_FPS = 1.0

_ADMIT = """
local state_key, inflight, wants, active, bucket, sampling, recent = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local stored = KEYS[8]
local sid, now, wanted, limit, burst = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local target, min_cap, max_cap = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local period, hold, active_ms, forget_ms = tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11]), tonumber(ARGV[12])
local floor_share, increase, step, sampling_ttl = tonumber(ARGV[13]), tonumber(ARGV[14]), tonumber(ARGV[15]), tonumber(ARGV[16])
local headroom, stuck_ms, stored_ms = tonumber(ARGV[17]), tonumber(ARGV[18]), tonumber(ARGV[19])
local window_ms, min_frames, quantile = tonumber(ARGV[20]), tonumber(ARGV[21]), tonumber(ARGV[22])
local window_s, min_window = tonumber(ARGV[23]), tonumber(ARGV[24])

-- The capacity: cut when recent frames took too long or one in flight is stuck, grown while they keep up.
local s = redis.call('HMGET', state_key, 'cap', 'at', 'cut_at')
local cap, at, cut_at = tonumber(s[1]) or max_cap, tonumber(s[2]) or now, tonumber(s[3]) or 0
redis.call('ZREMRANGEBYSCORE', inflight, '-inf', now - forget_ms)
local oldest = redis.call('ZRANGE', inflight, 0, 0, 'WITHSCORES')
local stuck = 0
if oldest[2] and now - tonumber(oldest[2]) > stuck_ms then stuck = now - tonumber(oldest[2]) end
-- The times of frames that arrived in the last window and after the last cut: what the current figure brought about.
local since = math.max(now - window_ms, cut_at)
local entries = redis.call('ZRANGEBYSCORE', recent, '(' .. since, '+inf')
local took = {}
for i, member in ipairs(entries) do took[i] = tonumber(string.match(member, ':(%d+)$')) or 0 end
table.sort(took)
local late = 0
if #took >= min_frames then late = took[math.ceil(#took * quantile)] end
local delay = math.max(late, stuck)
-- Too few frames since the last cut say nothing yet: hold, unless nothing is in flight at all (an idle door may grow).
local unsure = #took < min_frames and oldest[2] ~= nil
-- What the workers stored lately (frames a second; at a start, while they have stored for less than its span, an
-- underestimate: the least window covers it).
local delivered = redis.call('ZCOUNT', stored, '(' .. (now - stored_ms), now) * 1000 / stored_ms
local in_flight = redis.call('ZCARD', inflight)
if now - at >= period then
  if delay > target then
    -- Until frames have come out for the stored rate's span, the workers have only just begun (their first frames are
    -- slow, and a class's start is a burst): the rate says nothing yet, and the figure holds.
    local first = redis.call('ZRANGE', recent, 0, 0, 'WITHSCORES')
    local warm = first[2] ~= nil and now - tonumber(first[2]) >= stored_ms
    -- Behind: more frames in flight than the workers clear within the target (Little's law: the mean wait of a
    -- frame let in now). Late frames without that backlog are slow frames, not too many: the figure holds.
    local behind = stuck > 0 or (warm and in_flight > delivered * target / 1000)
    if behind and now - cut_at >= hold then
      -- A little under what the workers store: deeper only idles them; above it the backlog grows.
      cap = math.min(cap, math.max(min_cap, delivered * floor_share))
      cut_at = now
    end
  elseif delay < target * headroom and not unsure then
    cap = math.min(max_cap, cap + math.max(step, cap * increase))
  end
  at = now
end

-- This class's share: max-min fair over the classes that uploaded lately.
redis.call('ZADD', active, now, sid)
redis.call('HSET', wants, sid, wanted)
local gone = redis.call('ZRANGEBYSCORE', active, '-inf', now - active_ms)
if #gone > 0 then
  redis.call('ZREM', active, unpack(gone))
  redis.call('HDEL', wants, unpack(gone))
end
redis.call('PEXPIRE', active, active_ms * 2)
redis.call('PEXPIRE', wants, active_ms * 2)
local ids = redis.call('ZRANGE', active, 0, -1)
local asked = redis.call('HMGET', wants, unpack(ids))
local list = {}
for i, v in ipairs(asked) do list[i] = math.min(limit, tonumber(v) or 1) end
table.sort(list)
local mine = math.min(limit, wanted)
local remaining, n, level = cap, #list, nil
for i, v in ipairs(list) do
  local equal = remaining / (n - i + 1)
  if v <= equal then remaining = remaining - v else level = equal; break end
end
local share
if level == nil then share = math.min(limit, mine + remaining / n)
elseif mine <= level then share = mine
else share = level end
local reduced = 0
if share < mine * 0.999 then reduced = 1 end

-- The window: a frame let in behind more frames than the workers store in window_s would come out after the promise,
-- whatever the rates say (a start's burst, workers slower than the figure). It waits at the door instead, for the
-- time the excess takes to clear, and keeps its token.
local window = math.max(min_window, delivered * window_s)
local allowed, wait, full = 0, 0, 0
if in_flight >= window then
  full = 1
  wait = math.ceil((in_flight - window + 1) * 1000 / math.max(delivered, 1))
else
  -- This class's token bucket at its share; at least two tokens deep, so a client keeping to the share gets through.
  local b = redis.call('HMGET', bucket, 'tokens', 'ts')
  local depth = math.max(2, math.min(burst, share * 2))
  local tokens = tonumber(b[1]) or depth
  local ts = tonumber(b[2]) or now
  tokens = math.min(depth, tokens + (now - ts) * share / 1000)
  if tokens >= 1 then
    tokens = tokens - 1
    allowed = 1
  else
    wait = math.ceil((1 - tokens) * 1000 / share)
  end
  redis.call('HSET', bucket, 'tokens', tokens, 'ts', now)
  redis.call('PEXPIRE', bucket, math.ceil(depth / share * 1000) + 1000)
end
redis.call('HSET', state_key, 'cap', cap, 'at', at, 'cut_at', cut_at)
redis.call('HSET', sampling, 'max_fps', share, 'wanted_fps', mine, 'reduced', reduced)
redis.call('EXPIRE', sampling, sampling_ttl)
return {allowed, wait, math.floor(share * 1000), reduced, math.floor(cap * 1000), math.floor(delay), full}
"""


@dataclass(frozen=True)
class Admission:
    """The door's answer to one upload: whether it may go in, and if not whether because the workers are behind
    (``workers_behind``: the window is full, whatever this class's share) or the class is over its share; after how
    many seconds to retry; the class's share now (``max_fps``) and whether that is below what its client wants; the
    capacity and the time it was decided on (recent frames' slowest tenth, or a stuck frame's age), for the
    benchmarks and logs."""

    allowed: bool
    workers_behind: bool
    retry_after: int
    max_fps: float
    reduced: bool
    capacity_fps: float
    delay_ms: int


def frame_admit(*, session_id: int, wanted_fps: float | None = None, now: float | None = None) -> Admission:
    """Take one frame of ``session_id`` through the door (one Redis round trip); ``wanted_fps`` is its client's own rate."""
    wanted = min(float(settings.INGEST_RATE_PER_SECOND), wanted_fps if wanted_fps is not None else DEFAULT_WANTED_FPS)
    now_ms = int(1000 * (now if now is not None else time.time()))
    keys = [
        live_state.key("admission"),
        live_state.key("inflight"),
        live_state.key("admission", "wants"),
        live_state.key("admission", "active"),
        live_state.key("rate", session_id),
        live_state.key("sampling", session_id),
        live_state.key("admission", "recent"),
        live_state.key("admission", "stored"),
    ]
    args = [
        session_id,
        now_ms,
        wanted,
        settings.INGEST_RATE_PER_SECOND,
        settings.INGEST_RATE_BURST,
        int(1000 * settings.ADMISSION_TARGET_LATENCY_SECONDS),
        MIN_CAPACITY_FPS,
        MAX_CAPACITY_FPS,
        int(1000 * UPDATE_SECONDS),
        int(1000 * HOLD_SECONDS),
        int(1000 * ACTIVE_SECONDS),
        int(1000 * FORGET_SECONDS),
        FLOOR_SHARE,
        INCREASE,
        STEP_FPS,
        SAMPLING_TTL_SECONDS,
        HEADROOM,
        int(2000 * settings.INGEST_MAX_WAIT_SECONDS),  # in flight twice as long as a frame may wait: stuck
        int(1000 * STORED_SECONDS),
        int(1000 * WINDOW_SECONDS),
        MIN_FRAMES,
        QUANTILE,
        WINDOW_TARGETS * settings.ADMISSION_TARGET_LATENCY_SECONDS,
        MIN_WINDOW,
    ]
    allowed, wait_ms, share, reduced, capacity, delay, full = live_state.client().eval(_ADMIT, len(keys), *keys, *args)
    return Admission(
        allowed=bool(allowed),
        workers_behind=bool(full),
        retry_after=max(1, -(-int(wait_ms) // 1000)),
        max_fps=round(int(share) / 1000, 2),
        reduced=bool(reduced),
        capacity_fps=int(capacity) / 1000,
        delay_ms=int(delay),
    )


def frame_in_flight(*, frame_log_id: int, at: float, pipe: redis.client.Pipeline | None = None) -> None:
    """An accepted frame enters the system (its arrival, epoch seconds): it counts in the door's delay until finished.
    With ``pipe``, the command joins that pipeline (the frame's other writes) instead of its own round trip."""
    writer = pipe if pipe is not None else live_state.client().pipeline()
    writer.zadd(live_state.key("inflight"), {str(frame_log_id): int(1000 * at)})
    writer.expire(live_state.key("inflight"), int(2 * FORGET_SECONDS))  # like every key but the queues: a TTL
    if pipe is None:
        writer.execute()


def frame_finished(*, frame_log_id: int, arrived_at: float, took_ms: float, stored: bool) -> None:
    """A frame that arrived at ``arrived_at`` (epoch s) left the system ``took_ms`` later: ``stored`` (the workers'
    rate counts it), or dropped, expired or failed. Idempotent."""
    recent, done = live_state.key("admission", "recent"), live_state.key("admission", "stored")
    pipe = live_state.client().pipeline()
    pipe.zrem(live_state.key("inflight"), str(frame_log_id))
    pipe.zadd(recent, {f"{frame_log_id}:{int(took_ms)}": int(1000 * arrived_at)})
    pipe.zremrangebyscore(recent, "-inf", int(1000 * (arrived_at - FORGET_SECONDS)))
    pipe.expire(recent, int(2 * FORGET_SECONDS))
    if stored:
        finished_ms = int(1000 * arrived_at + took_ms)
        pipe.zadd(done, {str(frame_log_id): finished_ms})
        pipe.zremrangebyscore(done, "-inf", finished_ms - int(1000 * FORGET_SECONDS))
        pipe.expire(done, int(2 * FORGET_SECONDS))
    pipe.execute()


def session_sampling(*, session_id: int) -> dict[str, float]:
    """The rate the door last let ``session_id`` send (``max_fps``), what its client wants (``wanted_fps``) and
    ``reduced_rate`` (1 when the first is below the second); empty before any upload in the last minute."""
    stored = live_state.client().hgetall(live_state.key("sampling", session_id))
    values = {(k.decode() if isinstance(k, bytes) else k): float(v) for k, v in stored.items()}
    if not values:
        return {}
    return {"max_fps": round(values["max_fps"], 2), "wanted_fps": round(values["wanted_fps"], 2), "reduced_rate": int(values["reduced"])}
