"""Benchmark: the cost of log redaction per JSON line, with 10,000 tenants' secrets registered.

    .venv/bin/python -m bench.redaction            # 10,000 tenants, 20,000 lines a round
    .venv/bin/python -m bench.redaction --smoke    # same tenants, fewer lines; a few seconds

One production-shaped record (message with arguments, `extra=` fields, the request/task/tenant/
order ids) goes through a logger whose handler has the production filters (context, redaction)
and the JSON formatter (integration_portal/logging.py), writing to a null stream. Three modes,
measured in alternating rounds in the same process so that machine load hits them alike:

- off: no redaction filter, and the formatter's redaction replaced by the identity (baseline);
- 0 secrets: redaction on, nothing registered (second reference);
- 10,000 tenants: redaction on, every tenant's Lever API key, webhook signature token and
  Backcheck password registered (30,000 values).

Target: a line with 10,000 tenants' secrets costs ≤ 1.5× the same line with redaction off (gating
in the full run; the smoke run reports it). No database or Redis is used.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import secrets
import statistics
import sys
import time

from bench import harness

TENANTS = 10_000


def _logger(*, redacting: bool) -> logging.Logger:
    from integration_portal.logging import ContextFilter, JsonFormatter, RedactSecretsFilter

    handler = logging.StreamHandler(io.StringIO())
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    if redacting:
        handler.addFilter(RedactSecretsFilter())
    logger = logging.getLogger(f"bench.redaction.{'on' if redacting else 'off'}")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger


def _emit(logger: logging.Logger, lines: int) -> float:
    """Seconds per line for `lines` production-shaped records."""
    stream = logger.handlers[0].stream  # type: ignore[attr-defined]
    started = time.perf_counter()
    for i in range(lines):
        logger.info(
            "delivered note %s to opportunity %s in %d ms",
            1000 + i,
            "250d8f03-738a-4bba-a671-8a3d73477145",
            87,
            extra={
                "tenant": "acme-recruiting",
                "http_status": 201,
                "url": "https://api.lever.co/v1/opportunities/250d8f03-738a-4bba/notes",
                "attempt": 1,
            },
        )
        if i % 1000 == 999:
            stream.seek(0)
            stream.truncate()
    return (time.perf_counter() - started) / lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--lines", type=int, default=None, help="lines per round and mode")
    parser.add_argument("--rounds", type=int, default=None)
    args = parser.parse_args(argv)
    lines = args.lines or (2_000 if args.smoke else 20_000)
    rounds = args.rounds or (5 if args.smoke else 9)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.bench_settings")
    os.environ.update({k: v for k, v in harness.bench_env().items() if k not in os.environ})
    os.environ["LOG_LEVEL"] = "WARNING"
    import django

    django.setup()
    from integration_portal import logging as portal_logging
    from integration_portal import redaction

    real_redact = portal_logging.redact
    empty_index = redaction._index
    first_secret = secrets.token_urlsafe(30)
    redaction.register_secret(first_secret)
    started = time.perf_counter()
    for _ in range(TENANTS):
        redaction.register_secret(secrets.token_urlsafe(30))  # Lever API key
        redaction.register_secret(secrets.token_hex(16))  # webhook signature token
        redaction.register_secret(secrets.token_urlsafe(18))  # Backcheck password
    register_s = time.perf_counter() - started
    redaction.compact()  # what the background thread does once registrations pause
    full_index = redaction._index
    on, off = _logger(redacting=True), _logger(redacting=False)

    def measure(mode: str) -> float:
        # The published snapshot is swapped directly so that both references run in the same
        # process and rounds as the measured case (the registry itself only ever grows).
        redaction._index = full_index if mode == "10k" else empty_index
        if mode == "off":
            portal_logging.redact = lambda text: text
            try:
                return _emit(off, lines)
            finally:
                portal_logging.redact = real_redact
        return _emit(on, lines)

    samples: dict[str, list[float]] = {"off": [], "0": [], "10k": []}
    for mode in samples:  # warm-up
        measure(mode)
    with portal_logging.log_context(
        request_id="0f3a9c2e7b6d4e1f8a5c3b2d1e0f9a8b", tenant_id=42, order_id=1234
    ):
        for _ in range(rounds):
            for mode in samples:
                samples[mode].append(measure(mode))
    redaction._index = full_index

    report = harness.Report(
        f"Log redaction ({'smoke' if args.smoke else 'full'}; {lines} lines × {rounds} rounds, "
        f"{TENANTS} tenants = {len(redaction._known)} secrets)"
    )
    off_us = statistics.median(samples["off"]) * 1e6
    zero_us = statistics.median(samples["0"]) * 1e6
    full_us = statistics.median(samples["10k"]) * 1e6
    report.row("redaction off: µs per line (baseline)", off_us, "µs")
    report.row("redaction on, 0 secrets: µs per line", zero_us, "µs", off_us)
    report.row("redaction on, 10,000 tenants: µs per line", full_us, "µs", off_us)
    report.row("registering 30,000 secrets", register_s, "s")
    # Smoke mode (CI) reports the timing without gating on it, like the other benchmarks: a few
    # thousand lines on a busy machine are too few to judge a ratio by.
    report.check(
        "10,000 tenants ≤ 1.5× off",
        full_us / off_us,
        "≤ 1.5",
        full_us <= 1.5 * off_us,
        gating=not args.smoke,
    )
    line = redaction.redact(f"calling Lever with {first_secret}")
    report.check(
        "the first secret registered is still masked", 0, "masked", first_secret not in line
    )
    return report.finish("redaction", smoke=args.smoke)


if __name__ == "__main__":
    sys.exit(main())
