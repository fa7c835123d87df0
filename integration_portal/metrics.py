"""Prometheus metrics at `/metrics` (issue 8).

Three sources, so that no write path of the order flow has to know about metrics:

- Request counters, kept by `MetricsMiddleware` for the two inbound endpoints (by URL name), with
  the HTTP status and the outcome: the JSON `status` of a 200 (accepted, test, duplicate, ignored,
  applied, stale, rejected) or the `error` code of anything else (not_found, invalid_signature…).
  4xx are counted here, since nothing is written for them (docs/CONTRACT.md §5).
- Database aggregates read at scrape time by `DatabaseCollector` from the sources apps register
  (orders/metrics.py: note delivery attempts by outcome and latency, retries, the outbox and
  inbound backlog by state, the oldest waiting note). The tables are the truth, so these are
  exact counters shared by every process, whichever worker did the work.
- Per-tenant Lever limiter waits and missed booked slots, recorded where a task meets them. Those
  happen in Celery workers, usually another container than web, so with Redis they are kept in a
  Redis hash that every web process reads; without Redis (the embedded single-host mode) in a
  process-local counter.

Gunicorn runs several worker processes: with PROMETHEUS_MULTIPROC_DIR set (an empty folder,
cleared at start by gunicorn.conf.py) prometheus_client aggregates every process's counters.
"""

from __future__ import annotations

import hmac
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

logger = logging.getLogger(__name__)

# URL names of the inbound endpoints (orders/api/urls.py) and their short label.
INBOUND_ENDPOINTS = {"lever-webhook": "lever_webhook", "backcheck-callback": "backcheck_callback"}
# Seconds. The webhook target is p99 ≤ 100 ms (docs/PERFORMANCE.md); Lever gives up at ~10 s.
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LIMITER_HASH = "portal:metrics:limiter"
_MAX_OUTCOME_LEN = 40

INBOUND_REQUESTS = Counter(
    "portal_inbound_requests",
    "Lever webhooks and Backcheck callbacks answered, by endpoint, HTTP status and outcome.",
    ["endpoint", "code", "outcome"],
)
INBOUND_SECONDS = Histogram(
    "portal_inbound_request_seconds",
    "Time to answer a Lever webhook or a Backcheck callback.",
    ["endpoint"],
    buckets=REQUEST_BUCKETS,
)
_LOCAL_LIMITER_WAITS = Counter(
    "portal_lever_limiter_waits_local",
    "Lever limiter waits counted in this process (embedded mode without Redis).",
    ["tenant_id"],
)
_LOCAL_LIMITER_SECONDS = Counter(
    "portal_lever_limiter_wait_seconds_local",
    "Seconds of Lever limiter waits counted in this process (embedded mode without Redis).",
    ["tenant_id"],
)
_LOCAL_MISSED_SLOTS = Counter(
    "portal_lever_booked_slots_missed_local",
    "Booked Lever limiter slots that passed unused, counted in this process (embedded mode).",
    ["tenant_id"],
)


# --- per-tenant limiter waits ------------------------------------------------------------------
_redis_lock = threading.Lock()
_redis_client: Any = None


def _redis() -> Any:
    global _redis_client
    url = getattr(settings, "REDIS_URL", "")
    if not url:
        return None
    with _redis_lock:
        if _redis_client is None:
            import redis

            _redis_client = redis.Redis.from_url(
                url, socket_connect_timeout=0.5, socket_timeout=0.5
            )
        return _redis_client


def limiter_wait(tenant_id: int | str, seconds: float) -> None:
    """Count one wait imposed by the Lever rate limiter on `tenant_id`. Never raises."""
    tenant = str(tenant_id)
    client = _redis()
    if client is None:
        _LOCAL_LIMITER_WAITS.labels(tenant).inc()
        _LOCAL_LIMITER_SECONDS.labels(tenant).inc(max(0.0, seconds))
        return
    try:
        pipe = client.pipeline(transaction=False)
        pipe.hincrby(LIMITER_HASH, f"{tenant}:n", 1)
        pipe.hincrbyfloat(LIMITER_HASH, f"{tenant}:s", max(0.0, float(seconds)))
        pipe.execute()
    except Exception as exc:  # metrics must never break a delivery
        logger.debug("limiter wait not counted (%s)", type(exc).__name__)


def booked_slot_missed(tenant_id: int | str) -> None:
    """Count a booked limiter slot that passed unused: its task started more than the booking
    grace late, so the note books again at the back of the tenant's queue. Never raises.

    Each one costs the tenant a slot of its 10/s. A steady count means the workers cannot start
    tasks on time (too few processes, or CPU-bound), not that Lever is slow.
    """
    tenant = str(tenant_id)
    client = _redis()
    if client is None:
        _LOCAL_MISSED_SLOTS.labels(tenant).inc()
        return
    try:
        client.hincrby(LIMITER_HASH, f"{tenant}:missed", 1)
    except Exception as exc:  # metrics must never break a delivery
        logger.debug("missed slot not counted (%s)", type(exc).__name__)


def _limiter_families() -> Iterator[Any]:
    waits = CounterMetricFamily(
        "portal_lever_limiter_waits",
        "Times a Lever call was put off by the per-key rate limiter, by tenant.",
        labels=["tenant_id"],
    )
    seconds = CounterMetricFamily(
        "portal_lever_limiter_wait_seconds",
        "Seconds Lever calls were put off by the per-key rate limiter, by tenant.",
        labels=["tenant_id"],
    )
    missed = CounterMetricFamily(
        "portal_lever_booked_slots_missed",
        "Booked Lever limiter slots that passed unused because their task started too late.",
        labels=["tenant_id"],
    )
    families = {"n": waits, "s": seconds, "missed": missed}
    client = _redis()
    if client is not None:
        try:
            raw = client.hgetall(LIMITER_HASH)
        except Exception as exc:
            logger.warning("limiter metrics unavailable (%s)", type(exc).__name__)
            raw = {}
        for key, value in sorted(raw.items()):
            tenant, _, kind = key.decode().rpartition(":")
            family = families.get(kind)
            if family is not None:
                family.add_metric([tenant], float(value))
    yield from families.values()


# --- database aggregates -----------------------------------------------------------------------
FamiliesSource = Callable[[], Iterable[Any]]


class DatabaseCollector:
    """Metric families the apps read from their tables at scrape time.

    Apps register their sources from `AppConfig.ready()` (`register_database_metrics`), so this
    base module never imports an app. Results are kept for `cache_s` so that several scrapers,
    or a scrape per gunicorn worker, cost one run.
    """

    def __init__(self, cache_s: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.cache_s = cache_s
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: tuple[float, list[Any]] | None = None
        self._sources: dict[str, FamiliesSource] = {}

    def register(self, name: str, source: FamiliesSource) -> None:
        with self._lock:
            self._sources[name] = source
            self._cached = None

    def collect(self) -> Iterator[Any]:
        with self._lock:
            now = self._clock()
            if self._cached is None or now - self._cached[0] >= self.cache_s:
                try:
                    self._cached = (now, list(self._families()))
                except Exception as exc:  # a scrape must answer even when the database does not
                    logger.warning("database metrics unavailable (%s)", type(exc).__name__)
                    return iter([self._up(0)])
            return iter(self._cached[1])

    @staticmethod
    def _up(value: int) -> GaugeMetricFamily:
        up = GaugeMetricFamily(
            "portal_metrics_database_up", "1 when the outbox aggregates could be read."
        )
        up.add_metric([], value)
        return up

    def _families(self) -> Iterator[Any]:
        yield self._up(1)
        for source in self._sources.values():
            yield from source()


_database_collector = DatabaseCollector()


def register_database_metrics(name: str, source: FamiliesSource) -> None:
    """Add `source()`'s metric families to every scrape (called from an app's ready())."""
    _database_collector.register(name, source)


class _LimiterCollector:
    def collect(self) -> Iterator[Any]:
        return _limiter_families()


def build_registry() -> CollectorRegistry:
    """Every metric of this process, or of all processes in multiprocess mode, plus the DB's."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_Forward(REGISTRY))
    registry.register(_database_collector)
    registry.register(_LimiterCollector())
    return registry


class _Forward:
    """Expose another registry's metrics through this one."""

    def __init__(self, source: CollectorRegistry) -> None:
        self.source = source

    def collect(self) -> Iterator[Any]:
        return iter(self.source.collect())


def _authorized(request: HttpRequest) -> bool:
    token = getattr(settings, "METRICS_TOKEN", "")
    if not token:
        return True
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(value.strip(), token)


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus text format. No login; 404 when METRICS_ENABLED is off; bearer token if set."""
    if not getattr(settings, "METRICS_ENABLED", True):
        return HttpResponse(status=404)
    if not _authorized(request):
        response = HttpResponse("A valid bearer token is required.\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(build_registry()), content_type=CONTENT_TYPE_LATEST)


def _outcome(response: HttpResponse) -> str:
    data = getattr(response, "data", None)
    if isinstance(data, dict):
        value = data.get("status") if response.status_code == 200 else data.get("error")
        if isinstance(value, str) and 0 < len(value) <= _MAX_OUTCOME_LEN:
            return value
    return "ok" if 200 <= response.status_code < 300 else "error"


class MetricsMiddleware:
    """Counts the inbound endpoints' answers by URL name, HTTP status and outcome."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        endpoint = INBOUND_ENDPOINTS.get(match.url_name) if match is not None else None
        if endpoint is not None:
            try:
                INBOUND_SECONDS.labels(endpoint).observe(time.perf_counter() - started)
                INBOUND_REQUESTS.labels(
                    endpoint, str(response.status_code), _outcome(response)
                ).inc()
            except Exception as exc:  # counting must never turn an answer into a 500
                logger.debug("request not counted (%s)", type(exc).__name__)
        return response
