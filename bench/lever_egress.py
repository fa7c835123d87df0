"""Benchmark 2: Lever note egress through real Celery workers against the fake Lever.

    .venv/bin/python -m bench.lever_egress             # 1,000 notes a tenant; 1, 2 and 10 tenants
    .venv/bin/python -m bench.lever_egress --smoke     # 40 notes a tenant; 1 and 2 tenants

Notes are spread over many orders (FIFO is per order: 5 notes an order) and published the way
`note_enqueue` does (one deliver task per note). The fake Lever meters each key like Lever (10/s,
bursts of 20) and answers 429 over it; the portal's limiter allows 10/s with a burst of 10.
Achieved rate per tenant = (delivered − 1) / (last − first delivery), read from the fake's log.
Targets: one tenant ≥ 0.95 of the limit, each of two and of ten tenants ≥ 0.9, no 429 at all.
Baseline in the same run: a bare loop sending through LeverClient and the shared limiter alone.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import time

from bench import harness

NOTES_PER_ORDER = 5


def _setup_tenants(fake, count: int, notes: int, run: str) -> list:
    from tests.support.factories import TenantFactory

    tenants = []
    for t in range(count):
        api_key = f"bench-egress-{run}-{t}-" + secrets.token_hex(8)
        fake.add_account(api_key, rate=10.0, burst=20)
        tenant = TenantFactory(
            name=f"Egress {run} {t}",
            slug=f"egress-{run}-{t}",
            lever_base_url=fake.base_url,
            lever_api_key=api_key,
            lever_signature_token="bench-token-0123456789abcdef",
            packages=[],
            # No Backcheck: only the Lever side is measured.
            backcheck_base_url="",
            backcheck_client_id=None,
            backcheck_client_secret=None,
        )
        harness.seed_pending_notes(
            fake, api_key, tenant, prefix=f"{run}-{t}", notes=notes, per_order=NOTES_PER_ORDER
        )
        tenants.append((tenant, api_key))
    return tenants


def _rate(fake, api_key: str) -> tuple[float, int, int]:
    """(achieved notes/s, notes created, 429 answers) for one key, from the fake's log."""
    entries = fake.requests_for(api_key)
    times = sorted(
        e["time"]
        for e in entries
        if e["method"] == "POST"
        and e["path"].split("?")[0].endswith("/notes")
        and e["status"] == 201
    )
    throttled = sum(1 for e in entries if e["status"] == 429)
    rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
    return rate, len(times), throttled


def _portal_run(
    fake,
    tenants_n: int,
    notes: int,
    run: str,
    report: harness.Report,
    limit: float,
    target: float,
    timing: bool,
) -> float:
    from orders.models import LeverNote
    from orders.tasks import deliver_notes

    tenants = _setup_tenants(fake, tenants_n, notes, run)
    ids = list(
        LeverNote.objects.filter(tenant__in=[t for t, _ in tenants])
        .order_by("id")
        .values_list("id", flat=True)
    )
    started = time.monotonic()
    for note_id in ids:
        deliver_notes.apply_async(args=(note_id,), retry=False)
    expected = len(ids)
    budget = notes / limit * 2 + 60

    def done() -> bool:
        return LeverNote.objects.filter(pk__in=ids, state="delivered").count() == expected

    harness.wait_until(done, budget, f"{expected} notes delivered ({run})", every=0.5)
    wall = time.monotonic() - started
    rates = []
    for i, (_tenant, api_key) in enumerate(tenants):
        rate, created, throttled = _rate(fake, api_key)
        rates.append(rate)
        if i < 3 or i == len(tenants) - 1:
            report.row(f"{run}: tenant {i + 1} rate", rate, "notes/s", limit)
        report.check(
            f"{run}: tenant {i + 1} ≥ {target} of the limit",
            rate / limit,
            f"≥ {target}",
            rate / limit >= target,
            gating=timing,
        )
        report.check(f"{run}: tenant {i + 1} 429 answers", throttled, "0", throttled == 0)
        report.check(
            f"{run}: tenant {i + 1} each note posted once", created, str(notes), created == notes
        )
    report.row(f"{run}: slowest tenant rate", min(rates), "notes/s", limit)
    print(f"{run}: rates {[round(r, 2) for r in rates]} notes/s, {wall:.1f} s", flush=True)
    report.row(f"{run}: wall time for {expected} notes", wall, "s")
    return min(rates)


def _baseline(fake, notes: int, report: harness.Report, limit: float) -> float:
    from connectors.lever.client import LeverClient, RateLimited

    api_key = "bench-egress-baseline-" + secrets.token_hex(8)
    fake.add_account(api_key, rate=10.0, burst=20)
    opp = fake.add_opportunity(api_key, name="Baseline", emails=["b@example.com"])
    with LeverClient(base_url=fake.base_url, api_key=api_key) as client:
        sent = 0
        while sent < notes:
            try:
                client.create_note(opp, value=f"baseline note {sent}")
                sent += 1
            except RateLimited as exc:
                time.sleep(exc.retry_after_s or 0.01)
    rate, created, throttled = _rate(fake, api_key)
    report.row("baseline: bare loop, LeverClient + limiter", rate, "notes/s", limit)
    report.check("baseline: 429 answers", throttled, "0", throttled == 0)
    return rate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--notes", type=int, default=None, help="notes per tenant")
    parser.add_argument("--concurrency", type=int, default=4, help="Celery worker processes")
    args = parser.parse_args(argv)
    notes = args.notes or (40 if args.smoke else 1000)
    runs = [(1, 0.95), (2, 0.9)] + ([] if args.smoke else [(10, 0.9)])

    env = harness.prepare(NOTE_RETRY_BASE_S="0.5", NOTE_RETRY_MAX_S="5")
    from connectors.lever.fake import FakeLever

    limit = 10.0
    report = harness.Report(
        f"Lever egress ({'smoke' if args.smoke else 'full'}; {notes} notes a tenant, "
        f"worker concurrency {args.concurrency})"
    )
    with FakeLever() as fake, harness.start_worker(env, args.concurrency):
        base = _baseline(fake, min(notes, 300), report, limit)
        for tenants_n, target in runs:
            slowest = _portal_run(
                fake,
                tenants_n,
                notes,
                f"{tenants_n} tenant(s)",
                report,
                limit,
                target,
                timing=not args.smoke,
            )
            report.data[f"{tenants_n} tenants: slowest ÷ baseline"] = slowest / base
    return report.finish("lever_egress", smoke=args.smoke)


if __name__ == "__main__":
    sys.exit(main())
