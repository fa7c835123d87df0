"""The per-key limiter: GCRA semantics in process and in Redis, and across OS processes."""

from __future__ import annotations

import bisect
import multiprocessing
import secrets
import time

import pytest

from connectors.http import HttpError
from connectors.lever.client import LeverClient, RateLimited
from connectors.lever.fake import FakeLever
from connectors.lever.ratelimit import (
    REDIS_FAILURE_WAIT_S,
    LocalLimiter,
    RedisLimiter,
    get_limiter,
    key_fingerprint,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def max_in_any_window(times: list[float], window: float) -> int:
    """Most events in any closed interval [t, t + window] (t an event time)."""
    times = sorted(times)
    return max(bisect.bisect_right(times, t + window) - i for i, t in enumerate(times))


def drive(limiter, api_key: str, clock: Clock, *, seconds: float, rate: float, burst: int):
    """Ask as often as the limiter allows, jumping the clock by each wait. Returns grant times."""
    granted = []
    end = clock.now + seconds
    while clock.now <= end:
        wait = limiter.try_acquire(api_key, rate=rate, burst=burst)
        if wait == 0:
            granted.append(clock.now)
        else:
            clock.now += wait
    return granted


# -- in process --------------------------------------------------------------------------------
def test_local_limiter_allows_the_burst_then_one_per_interval():
    clock = Clock()
    limiter = LocalLimiter(clock)
    assert [limiter.try_acquire("k", rate=10, burst=10) for _ in range(10)] == [0.0] * 10
    wait = limiter.try_acquire("k", rate=10, burst=10)
    assert wait == pytest.approx(0.1)
    clock.now += 0.05
    assert limiter.try_acquire("k", rate=10, burst=10) == pytest.approx(0.05)
    clock.now += 0.05
    assert limiter.try_acquire("k", rate=10, burst=10) == 0.0


def test_refused_attempts_take_nothing():
    clock = Clock()
    limiter = LocalLimiter(clock)
    for _ in range(3):
        limiter.try_acquire("k", rate=1, burst=3)
    for _ in range(50):
        assert limiter.try_acquire("k", rate=1, burst=3) > 0
    clock.now += 1.0
    assert limiter.try_acquire("k", rate=1, burst=3) == 0.0


@pytest.mark.parametrize("rate,burst", [(10, 10), (3, 1), (25, 5)])
def test_local_limiter_never_exceeds_burst_plus_rate_times_window(rate, burst):
    clock = Clock()
    limiter = LocalLimiter(clock)
    granted = drive(limiter, "k", clock, seconds=20, rate=rate, burst=burst)
    for window in range(1, 21):
        assert max_in_any_window(granted, window) <= burst + rate * window
    assert len(granted) >= burst + rate * 20 - 1  # and it does not under-deliver either


def test_local_limiter_keys_are_independent():
    clock = Clock()
    limiter = LocalLimiter(clock)
    for _ in range(10):
        limiter.try_acquire("busy", rate=10, burst=10)
    assert limiter.try_acquire("busy", rate=10, burst=10) > 0
    assert limiter.try_acquire("quiet", rate=10, burst=10) == 0.0


def test_local_block_refuses_until_it_ends_and_never_shortens():
    clock = Clock()
    limiter = LocalLimiter(clock)
    limiter.block("k", 2.0)
    limiter.block("k", 0.5)
    assert limiter.blocked_for("k") == pytest.approx(2.0)
    assert limiter.try_acquire("k", rate=10, burst=10) == pytest.approx(2.0)
    clock.now += 2.0
    assert limiter.blocked_for("k") == 0.0
    assert limiter.try_acquire("k", rate=10, burst=10) == 0.0


def test_local_strikes_count_consecutive_429s_and_expire():
    clock = Clock()
    limiter = LocalLimiter(clock)
    assert [limiter.strike("k") for _ in range(3)] == [1, 2, 3]
    clock.now += 1000
    assert limiter.strike("k") == 1


def test_invalid_parameters_are_refused():
    with pytest.raises(ValueError):
        LocalLimiter().try_acquire("k", rate=0, burst=10)


def test_without_redis_the_process_limiter_is_local(settings):
    settings.REDIS_URL = ""
    assert isinstance(get_limiter(), LocalLimiter)
    assert get_limiter() is get_limiter()


# -- Redis ---------------------------------------------------------------------------------
def new_key() -> str:
    return "lvr-" + secrets.token_hex(20)


def test_redis_limiter_grants_the_burst_then_says_how_long_to_wait(redis_limiter):
    key = new_key()
    # 2/s: a slot every 0.5 s, so a loaded machine's slowness does not refill the bucket.
    assert [redis_limiter.try_acquire(key, rate=2, burst=10) for _ in range(10)] == [0.0] * 10
    wait = redis_limiter.try_acquire(key, rate=2, burst=10)
    assert 0.25 < wait <= 0.5
    again = redis_limiter.try_acquire(key, rate=2, burst=10)
    assert 0 < again <= wait  # refusals take nothing: the wait only shrinks
    time.sleep(again)
    assert redis_limiter.try_acquire(key, rate=2, burst=10) == 0.0


def test_redis_block_is_shared_and_expires(redis_url):
    key = new_key()
    one, two = RedisLimiter(redis_url), RedisLimiter(redis_url)
    one.block(key, 1.0)
    one.block(key, 0.1)  # a shorter block never shortens the first
    assert 0.5 < two.blocked_for(key) <= 1.0
    assert 0.5 < two.try_acquire(key, rate=10, burst=10) <= 1.0
    time.sleep(two.blocked_for(key) + 0.01)
    assert two.blocked_for(key) == 0.0
    assert two.try_acquire(key, rate=10, burst=10) == 0.0
    assert [one.strike(key), two.strike(key)] == [1, 2]


def test_redis_process_limiter_is_chosen_when_redis_url_is_set(settings, redis_url):
    settings.REDIS_URL = redis_url
    assert isinstance(get_limiter(), RedisLimiter)


def test_redis_down_fails_closed_with_a_short_wait():
    limiter = RedisLimiter("redis://127.0.0.1:1/0")  # nothing listens on port 1
    assert limiter.try_acquire(new_key(), rate=10, burst=10) == REDIS_FAILURE_WAIT_S
    limiter.block(new_key(), 1.0)  # logged, not raised: the 429 itself still reaches the task


def _hammer(base_url: str, api_key: str, redis_url: str, start: float, stop: float, out) -> None:
    """One worker process: send for one key as fast as the shared limiter allows."""
    limiter = RedisLimiter(redis_url)
    client = LeverClient(base_url=base_url, api_key=api_key, limiter=limiter)
    sent = limited = errors = 0
    time.sleep(max(0.0, start - time.time()))
    while time.time() < stop:
        try:
            client.list_stages()
            sent += 1
        except RateLimited as exc:
            limited += 1
            time.sleep(min(exc.retry_after_s, max(0.0, stop - time.time())))
        except HttpError:
            errors += 1
    out.put((sent, limited, errors))


def test_four_processes_share_one_key_within_lever_limits(redis_url):
    run_s = 6.0
    key, other_key = new_key(), new_key()
    with FakeLever() as fake:
        fake.add_account(key)  # Lever's own bucket: 10/s, burst 20
        fake.add_account(other_key)
        ctx = multiprocessing.get_context("fork")
        out = ctx.Queue()
        start = time.time() + 0.5
        workers = [
            ctx.Process(
                target=_hammer, args=(fake.base_url, key, redis_url, start, start + run_s, out)
            )
            for _ in range(4)
        ]
        for worker in workers:
            worker.start()

        # Meanwhile a second tenant's key is not slowed by the first key's backlog.
        time.sleep(max(0.0, start + 2.0 - time.time()))
        other = LeverClient(
            base_url=fake.base_url, api_key=other_key, limiter=RedisLimiter(redis_url)
        )
        began = time.monotonic()
        for _ in range(10):
            other.list_stages()  # would raise RateLimited if it had to wait
        assert time.monotonic() - began < 2.0

        results = [out.get(timeout=run_s + 10) for _ in workers]
        for worker in workers:
            worker.join(timeout=5)
            assert worker.exitcode == 0
        seen = fake.requests_for(key)

    assert sum(r[2] for r in results) == 0
    assert all(r["status"] == 200 for r in seen)  # zero 429s
    times = [r["time"] for r in seen]
    assert len(times) == sum(r[0] for r in results)
    for window in range(1, int(run_s) + 1):
        assert max_in_any_window(times, window) <= 10 + 10 * window, window
    achieved = (len(times) - 10) / (max(times) - min(times))  # steady rate after the burst
    assert achieved >= 0.95 * 10, achieved
    assert all(r[0] > 0 for r in results)  # every process got its turn


def test_redis_keys_name_a_hash_of_the_api_key_never_the_key(redis_url, redis_limiter):
    import redis

    key = new_key()
    redis_limiter.try_acquire(key, rate=10, burst=10)
    redis_limiter.block(key, 5)
    redis_limiter.strike(key)
    conn = redis.Redis.from_url(redis_url)
    names = [name.decode() for name in conn.scan_iter(match="*", count=1000)]
    ours = [name for name in names if key_fingerprint(key) in name]
    assert len(ours) == 3
    # Every test key in this module starts with "lvr-": none may appear in any Redis key.
    assert not any("lvr-" in name or key[4:] in name for name in names)
    for name in ours:
        assert key not in (conn.get(name) or b"").decode()
        assert 0 < conn.pttl(name) <= 310_000  # every entry expires on its own


# -- booking future slots ------------------------------------------------------------------
def _booking_checks(limiter, key: str, advance) -> None:
    """Booked slots are distinct and evenly spaced, count against the limit like any request,
    and nothing is booked past the horizon or while the key is blocked."""
    assert [limiter.reserve(key, rate=2, burst=2, max_wait=5) for _ in range(2)] == [0.0, 0.0]
    delays = [limiter.reserve(key, rate=2, burst=2, max_wait=5) for _ in range(4)]
    assert delays == pytest.approx([0.5, 1.0, 1.5, 2.0], abs=0.05)
    # Every slot up to 2 s ahead is booked: a plain request waits for the one after.
    assert limiter.try_acquire(key, rate=2, burst=2) == pytest.approx(2.5, abs=0.05)
    assert limiter.reserve(key, rate=2, burst=2, max_wait=1.0) is None  # past the horizon
    assert limiter.reserve(key, rate=2, burst=2, max_wait=5) == pytest.approx(2.5, abs=0.05)
    other = key + "-other"
    limiter.block(other, 1.0)
    assert limiter.reserve(other, rate=2, burst=2, max_wait=5) is None
    advance(1.1)
    assert limiter.reserve(other, rate=2, burst=2, max_wait=5) == 0.0


def test_local_limiter_books_future_slots():
    clock = Clock()

    def advance(seconds: float) -> None:
        clock.now += seconds

    _booking_checks(LocalLimiter(clock), "k", advance)


def test_redis_limiter_books_future_slots(redis_limiter):
    _booking_checks(redis_limiter, new_key(), time.sleep)


def test_a_client_with_a_booked_slot_sends_without_asking_again():
    clock = Clock()
    limiter = LocalLimiter(clock)
    with FakeLever() as fake:
        key = "book-" + secrets.token_hex(8)
        fake.add_account(key)
        client = LeverClient(base_url=fake.base_url, api_key=key, rate=1, burst=1, limiter=limiter)
        assert client.reserve(max_wait=5) == 0.0
        client.list_stages()  # uses the booked slot
        assert client.reserve(max_wait=5) == pytest.approx(1.0)
        with pytest.raises(RateLimited):
            client.list_stages()  # the future slot is not usable yet by a plain request
        later = LeverClient(
            base_url=fake.base_url, api_key=key, rate=1, burst=1, limiter=limiter, prepaid=1
        )
        clock.now += 1.0
        later.list_stages()
        assert len(fake.requests_for(key)) == 2
