"""Per-API-key rate limiting for outbound Lever calls (docs/LEVER.md "Rate limit", docs/CONTRACT.md §7).

Lever meters every API key with a token bucket of 10 requests/s and bursts of up to 20, and says
the burst is "when possible", not promised. We therefore allow 10/s sustained with a burst of 10
(per tenant configurable): in any window of T seconds Lever sees at most ``burst + rate·T`` of our
requests for one key, however many workers send.

The algorithm is GCRA (a token bucket expressed as one "theoretical arrival time" per key). With
Redis, one Lua script reads the clock from Redis (``TIME``), so every process on every host shares
one clock and one decision, atomically. Without Redis (the embedded demo mode) an in-process
limiter gives the same answers for the one process there is.

Callers never sleep here: ``try_acquire`` answers "go" (0.0, a slot is taken) or "wait this many
seconds" (nothing is taken). A Celery task reschedules itself for that long instead of holding a
worker. After a 429, ``block`` stops the key for every process until Lever's wait is over.

Redis keys carry a SHA-256 of the API key, never the key itself.
"""

from __future__ import annotations

import abc
import hashlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

KEY_PREFIX = "lever:rl"
# After Redis fails, callers wait this long and ask again: sending without the shared limiter
# could push every worker over Lever's limit at once, so the limiter fails closed.
REDIS_FAILURE_WAIT_S = 1.0
# Consecutive 429s are remembered this long to grow the default back-off exponentially.
STRIKE_MEMORY_S = 300
# Float sums of the interval drift by ~1e-13 s; without this, a burst could come up one short.
_EPSILON_S = 1e-9


def key_fingerprint(api_key: str) -> str:
    """A stable, non-reversible name for an API key (Redis keys, logs, the fake's request log)."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:32]


class Limiter(abc.ABC):
    """The interface every limiter implements."""

    @abc.abstractmethod
    def try_acquire(self, api_key: str, *, rate: float, burst: int) -> float:
        """0.0: go (a slot was taken). >0: seconds to wait before asking again (nothing taken)."""

    @abc.abstractmethod
    def reserve(self, api_key: str, *, rate: float, burst: int, max_wait: float) -> float | None:
        """Book the next slot even if it lies in the future: seconds until it (0.0: now), or None
        when the key is blocked or the next slot is more than `max_wait` away (nothing booked).

        A caller that books a future slot must not send before it comes. Booking lets many
        waiting tasks each wake once, for their own slot, instead of all polling together.
        """

    @abc.abstractmethod
    def block(self, api_key: str, seconds: float) -> None:
        """Refuse every request for this key for `seconds` (never shortens an existing block)."""

    @abc.abstractmethod
    def blocked_for(self, api_key: str) -> float:
        """Seconds the key stays blocked (0.0 when not blocked)."""

    @abc.abstractmethod
    def strike(self, api_key: str) -> int:
        """Count a 429 for this key; returns the number of 429s in a row (within a few minutes)."""


def _check_params(rate: float, burst: int) -> None:
    if rate <= 0 or burst < 1:
        raise ValueError("rate must be > 0 and burst >= 1")


class LocalLimiter(Limiter):
    """GCRA in process memory, for one process (no Redis configured)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._tat: dict[str, float] = {}
        self._blocked_until: dict[str, float] = {}
        self._strikes: dict[str, tuple[int, float]] = {}

    def try_acquire(self, api_key: str, *, rate: float, burst: int) -> float:
        _check_params(rate, burst)
        name = key_fingerprint(api_key)
        interval = 1.0 / rate
        with self._lock:
            now = self._clock()
            blocked = self._blocked_until.get(name, 0.0) - now
            if blocked > 0:
                return blocked
            tat = max(self._tat.get(name, now), now)
            new_tat = tat + interval
            wait = new_tat - burst * interval - now
            if wait > _EPSILON_S:
                return wait
            self._tat[name] = new_tat
            return 0.0

    def reserve(self, api_key: str, *, rate: float, burst: int, max_wait: float) -> float | None:
        _check_params(rate, burst)
        name = key_fingerprint(api_key)
        interval = 1.0 / rate
        with self._lock:
            now = self._clock()
            if self._blocked_until.get(name, 0.0) > now:
                return None
            tat = max(self._tat.get(name, now), now)
            new_tat = tat + interval
            wait = max(0.0, new_tat - burst * interval - now)
            if wait > max_wait:
                return None
            self._tat[name] = new_tat
            return wait if wait > _EPSILON_S else 0.0

    def block(self, api_key: str, seconds: float) -> None:
        if seconds <= 0:
            return
        name = key_fingerprint(api_key)
        with self._lock:
            until = self._clock() + seconds
            self._blocked_until[name] = max(self._blocked_until.get(name, 0.0), until)

    def blocked_for(self, api_key: str) -> float:
        with self._lock:
            return max(0.0, self._blocked_until.get(key_fingerprint(api_key), 0.0) - self._clock())

    def strike(self, api_key: str) -> int:
        name = key_fingerprint(api_key)
        with self._lock:
            now = self._clock()
            count, last = self._strikes.get(name, (0, now))
            count = count + 1 if now - last < STRIKE_MEMORY_S else 1
            self._strikes[name] = (count, now)
            return count


# Times are microseconds from Redis's own clock: every process shares it, none trusts its own.
# Lua numbers are doubles, exact for integers far beyond epoch microseconds (2^53).
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local blocked_until = tonumber(redis.call('GET', KEYS[2]) or '0')
if blocked_until > now then
  return string.format('%.6f', (blocked_until - now) / 1000000)
end
local interval = 1000000 / tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local new_tat = tat + interval
local wait = new_tat - burst * interval - now
if wait > 0 then
  return string.format('%.6f', wait / 1000000)
end
redis.call('SET', KEYS[1], string.format('%.3f', new_tat),
           'PX', math.ceil((new_tat - now) / 1000) + 1000)
return '0'
"""

_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local blocked_until = tonumber(redis.call('GET', KEYS[2]) or '0')
if blocked_until > now then
  return '-1'
end
local interval = 1000000 / tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3]) * 1000000
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local new_tat = tat + interval
local wait = new_tat - burst * interval - now
if wait < 0 then wait = 0 end
if wait > max_wait then
  return '-1'
end
redis.call('SET', KEYS[1], string.format('%.3f', new_tat),
           'PX', math.ceil((new_tat - now) / 1000) + 1000)
return string.format('%.6f', wait / 1000000)
"""

_BLOCK = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local until_us = now + tonumber(ARGV[1]) * 1000000
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current < until_us then
  redis.call('SET', KEYS[1], string.format('%.0f', until_us),
             'PX', math.ceil((until_us - now) / 1000) + 1000)
end
return 1
"""

_BLOCKED_FOR = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local blocked_until = tonumber(redis.call('GET', KEYS[1]) or '0')
if blocked_until > now then
  return string.format('%.6f', (blocked_until - now) / 1000000)
end
return '0'
"""

_STRIKE = """
local n = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1]))
return n
"""


class RedisLimiter(Limiter):
    """GCRA shared by every process through one atomic Lua script per decision."""

    def __init__(self, url: str, *, client: Any = None) -> None:
        import redis

        self._redis = client or redis.Redis.from_url(
            url, socket_connect_timeout=2, socket_timeout=2, health_check_interval=30
        )
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError,)
        self._acquire = self._redis.register_script(_ACQUIRE)
        self._reserve = self._redis.register_script(_RESERVE)
        self._block = self._redis.register_script(_BLOCK)
        self._blocked_for = self._redis.register_script(_BLOCKED_FOR)
        self._strike = self._redis.register_script(_STRIKE)

    @staticmethod
    def _keys(api_key: str) -> tuple[str, str, str]:
        # The braces make a Redis Cluster hash tag: a key's three entries share one slot.
        base = f"{KEY_PREFIX}:{{{key_fingerprint(api_key)}}}"
        return f"{base}:tat", f"{base}:block", f"{base}:strikes"

    def try_acquire(self, api_key: str, *, rate: float, burst: int) -> float:
        _check_params(rate, burst)
        tat, blocked, _ = self._keys(api_key)
        try:
            answer = self._acquire(keys=[tat, blocked], args=[repr(float(rate)), int(burst)])
        except self._errors as exc:
            logger.warning(
                "Lever rate limiter: Redis unavailable (%s); waiting", type(exc).__name__
            )
            return REDIS_FAILURE_WAIT_S
        return max(0.0, float(answer))

    def reserve(self, api_key: str, *, rate: float, burst: int, max_wait: float) -> float | None:
        _check_params(rate, burst)
        tat, blocked, _ = self._keys(api_key)
        try:
            answer = float(
                self._reserve(
                    keys=[tat, blocked], args=[repr(float(rate)), int(burst), repr(max_wait)]
                )
            )
        except self._errors as exc:
            logger.warning(
                "Lever rate limiter: Redis unavailable (%s); waiting", type(exc).__name__
            )
            return None
        return None if answer < 0 else answer

    def block(self, api_key: str, seconds: float) -> None:
        if seconds <= 0:
            return
        _, blocked, _ = self._keys(api_key)
        try:
            self._block(keys=[blocked], args=[repr(float(seconds))])
        except self._errors as exc:
            logger.warning("Lever rate limiter: could not record a block (%s)", type(exc).__name__)

    def blocked_for(self, api_key: str) -> float:
        _, blocked, _ = self._keys(api_key)
        try:
            return max(0.0, float(self._blocked_for(keys=[blocked])))
        except self._errors as exc:
            logger.warning("Lever rate limiter: Redis unavailable (%s)", type(exc).__name__)
            return REDIS_FAILURE_WAIT_S

    def strike(self, api_key: str) -> int:
        _, _, strikes = self._keys(api_key)
        try:
            return int(self._strike(keys=[strikes], args=[STRIKE_MEMORY_S]))
        except self._errors:
            return 1


_limiters: dict[str, Limiter] = {}
_limiters_lock = threading.Lock()


def get_limiter() -> Limiter:
    """The process-wide limiter: Redis-backed when settings.REDIS_URL is set, else in-process."""
    from django.conf import settings

    url = settings.REDIS_URL or ""
    with _limiters_lock:
        limiter = _limiters.get(url)
        if limiter is None:
            limiter = RedisLimiter(url) if url else LocalLimiter()
            _limiters[url] = limiter
        return limiter
