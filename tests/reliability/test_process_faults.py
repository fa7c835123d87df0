"""Faults 2, 3, 5 and 6: PostgreSQL cut, a worker killed mid-call, Lever failing for a long
stretch, Backcheck going silent. Each proves "nothing lost, nothing twice" with real processes."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest
import requests

from orders.models import InboundEvent, LeverNote, NoteAttempt, Order
from tests.reliability.conftest import (
    FAST_ENV,
    ROOT,
    make_tenant,
    record,
    stage_body,
    wait_until,
)

pytestmark = [pytest.mark.e2e]

LEASE = float(FAST_ENV["OUTBOX_LEASE_S"])
SWEEP = float(FAST_ENV["OUTBOX_SWEEP_INTERVAL_S"])


def _status_lines(texts: list[str]) -> list[str]:
    return [t.splitlines()[1] for t in texts]


# --- 2. PostgreSQL cut ------------------------------------------------------------------------


def _timed_post(url: str, **kwargs) -> tuple[int, float, dict]:
    started = time.monotonic()
    response = requests.post(url, timeout=30, **kwargs)
    return response.status_code, time.monotonic() - started, response.json()


def test_with_postgresql_cut_the_endpoints_answer_503_and_the_resent_event_is_processed_once(
    stack, fakes
):
    lever, backcheck = fakes
    stack.up(beat=False)
    w = make_tenant(stack, lever, backcheck)
    w.trigger("ada")
    order = w.wait_order("ada", lambda o: o.status == "Initiated")
    w.wait_notes("ada", 1)
    screening = backcheck.screening(order.screening_id)
    auth = (order.callback_username, backcheck._screenings[order.screening_id].callback_password)
    events_before = InboundEvent.objects.count()

    answers: dict[str, list[float]] = {}
    for mode in ("cut", "blackhole"):
        getattr(stack.proxy, mode)()
        timings = []
        for _ in range(3):
            status, seconds, body = _timed_post(
                w.webhook_url, json=stage_body(w, w.candidate("jose"))
            )
            assert status == 503 and body["error"] == "service_unavailable", (mode, status, body)
            timings.append(seconds)
            status, seconds, body = _timed_post(
                stack.portal_url + "/api/v1/callbacks/backcheck/",
                auth=auth,
                json={"type": "screening", "payload": screening},
            )
            assert status == 503 and body["error"] == "service_unavailable", (mode, status, body)
            timings.append(seconds)
        assert max(timings) < 5.0, (mode, timings)
        answers[mode] = timings
        stack.proxy.restore()

    # Lever resends a stage change answered 503; Backcheck retries its callback. The database
    # comes back while they retry: each is processed exactly once.
    stack.proxy.cut()
    sent: list[dict] = []
    resend = threading.Thread(target=lambda: sent.append(w.trigger("mary")))
    resend.start()
    backcheck.consent(order.screening_id)
    wait_until(
        lambda: any(d["status"] == 503 for d in lever.webhook_deliveries),
        message="a webhook answered 503",
    )
    wait_until(
        lambda: any(c["status"] == 503 for c in backcheck.callbacks),
        message="a callback answered 503",
    )
    stack.proxy.restore()
    resend.join(timeout=30)
    tries = [d["status"] for d in lever.webhook_deliveries if d["token"] == sent[0]["token"]]
    assert tries[0] == 503 and tries[-1] == 200 and set(tries) <= {503, 200}, tries
    w.wait_notes("mary", 1, timeout=20)
    notes = w.wait_notes("ada", 2, timeout=20)
    assert _status_lines(notes) == ["Status: New", "Status: In Progress"]
    assert (
        InboundEvent.objects.filter(tenant=w.tenant, opportunity_id=w.candidate("mary")).count()
        == 1
    )
    assert Order.objects.filter(tenant=w.tenant, opportunity_id=w.candidate("mary")).count() == 1
    # Nothing was written for the 503s: the only new events are mary's and the one callback.
    assert InboundEvent.objects.count() == events_before + 2
    time.sleep(1)
    assert len(w.notes("mary")) == 1 and len(w.notes("ada")) == 2
    record(
        "postgres-cut",
        cut_max_503_s=max(answers["cut"]),
        blackhole_max_503_s=max(answers["blackhole"]),
    )


# --- 3. a worker killed while waiting on Lever ------------------------------------------------


def test_a_worker_killed_mid_post_gets_its_notes_posted_once_by_the_sweeper(stack, fakes):
    """ada's POST hangs (Lever never acts); jose's is slow and Lever acts on it after the worker
    is dead (the note exists, unacknowledged). Both must end with exactly one note in Lever."""
    lever, backcheck = fakes
    stack.up(concurrency=2)
    worker = next(p for p in stack.procs if p.name == "worker")
    w = make_tenant(stack, lever, backcheck)
    names = ("ada", "jose")
    for name in names:
        w.trigger(name)
    orders = {n: w.wait_order(n, lambda o: o.status == "Initiated") for n in names}
    for name in names:
        w.wait_notes(name, 1)
    # Lever has the first notes before the worker records them: a first note still `sending` here
    # would be taken for one of the notes the kill interrupts below.
    wait_until(
        lambda: LeverNote.objects.filter(state="delivered").count() == len(names),
        message="the first notes to be recorded as delivered",
    )

    def path(name: str) -> str:
        return f"/opportunities/{w.candidate(name)}/notes"

    lever.inject_fault(hang=True, method="POST", path_contains=path("ada"))
    lever.inject_fault(latency_s=2.0, method="POST", path_contains=path("jose"))
    for name in names:
        backcheck.consent(orders[name].screening_id)
    wait_until(
        lambda: LeverNote.objects.filter(state="sending").count() == 2,
        message="both notes to be claimed",
    )
    in_flight = list(LeverNote.objects.filter(state="sending"))
    time.sleep(0.3)  # both POSTs are on the wire
    worker.kill()  # SIGKILL to the whole worker: parent and pool children
    killed = time.monotonic()
    stack.start_worker(concurrency=1)

    wait_until(
        lambda: not LeverNote.objects.exclude(state="delivered").exists(),
        timeout=LEASE + SWEEP + 15,
        message="the orphaned notes to be delivered",
    )
    recoveries = []
    outcomes = {}
    for note in in_flight:
        note.refresh_from_db()
        # The sweeper records the lost attempt at the time of the dead worker's claim.
        lost = NoteAttempt.objects.get(note=note, outcome="lost")
        recovery = (note.delivered_at - lost.started_at).total_seconds()
        assert recovery <= LEASE + SWEEP + 2.0, recovery
        recoveries.append(recovery)
        final = NoteAttempt.objects.filter(note=note).exclude(outcome="lost").get()
        outcomes[note.opportunity_id] = final.outcome
    assert outcomes == {w.candidate("ada"): "delivered", w.candidate("jose"): "found"}
    time.sleep(SWEEP * 2)
    for name in names:
        assert _status_lines(w.notes(name)) == ["Status: New", "Status: In Progress"]
    record(
        "worker-sigkill",
        lease_s=LEASE,
        sweep_s=SWEEP,
        claim_to_delivered_max_s=max(recoveries),
        kill_to_all_delivered_s=time.monotonic() - killed - SWEEP * 2,
    )


# --- 5. Lever failing for a long stretch ------------------------------------------------------

MAX_ATTEMPTS = 5


def _gaps(note: LeverNote) -> list[tuple[int, float]]:
    """(attempt number, seconds from the end of attempt n to the start of attempt n+1)."""
    attempts = list(NoteAttempt.objects.filter(note=note).order_by("started_at", "id"))
    return [
        (n + 1, (b.started_at - a.started_at).total_seconds() - a.duration_ms / 1000)
        for n, (a, b) in enumerate(zip(attempts, attempts[1:], strict=False))
    ]


def _check_backoff(note: LeverNote) -> list[float]:
    base, cap = float(FAST_ENV["NOTE_RETRY_BASE_S"]), float(FAST_ENV["NOTE_RETRY_MAX_S"])
    gaps = _gaps(note)
    assert gaps
    for attempt, gap in gaps:
        nominal = min(cap, base * 2 ** (attempt - 1))
        # jitter: uniform(0.5, 1.0) × nominal; allow the queue's own latency on top
        assert 0.5 * nominal - 0.05 <= gap <= nominal + 0.75, (attempt, gap, nominal)
    return [gap for _, gap in gaps]


def test_lever_failing_for_a_long_stretch_backs_off_keeps_order_and_replay_delivers_once(
    stack, fakes
):
    lever, backcheck = fakes
    stack.env["NOTE_MAX_ATTEMPTS"] = str(MAX_ATTEMPTS)
    stack.up()
    w = make_tenant(stack, lever, backcheck)
    for name in ("ada", "jose", "mary"):
        w.trigger(name)
    orders = {
        n: w.wait_order(n, lambda o: o.status == "Initiated") for n in ("ada", "jose", "mary")
    }
    for name in orders:
        w.wait_notes(name, 1)

    def notes_path(name: str) -> str:
        return f"/opportunities/{w.candidate(name)}/notes"

    # ada: a stretch of 503s shorter than the attempts allow; jose: 500s that outlast them.
    lever.inject_fault(
        status=503, count=MAX_ATTEMPTS - 2, method="POST", path_contains=notes_path("ada")
    )
    lever.inject_fault(status=500, count=1000, method="POST", path_contains=notes_path("jose"))
    for name in ("ada", "jose", "mary"):
        backcheck.consent(orders[name].screening_id)
        backcheck.complete(orders[name].screening_id, "Green")

    # mary is not held up by her neighbours' trouble; ada's notes arrive late but in order.
    assert _status_lines(w.wait_notes("mary", 3)) == [
        "Status: New",
        "Status: In Progress",
        "Status: Completed",
    ]
    assert _status_lines(w.wait_notes("ada", 3, timeout=30)) == [
        "Status: New",
        "Status: In Progress",
        "Status: Completed",
    ]
    ada_note = LeverNote.objects.get(order=orders["ada"], text__contains="Status: In Progress")
    ada_gaps = _check_backoff(ada_note)

    wait_until(
        lambda: LeverNote.objects.filter(order=orders["jose"], state="failed").exists(),
        timeout=30,
        message="jose's note to fail after its attempts",
    )
    failed = LeverNote.objects.get(order=orders["jose"], state="failed")
    assert failed.attempts == MAX_ATTEMPTS and failed.last_http_status == 500
    assert "Status: In Progress" in failed.text
    wait_until(
        lambda: LeverNote.objects.filter(order=orders["jose"], state="blocked").count() == 1,
        message="the later note to be blocked",
    )
    jose_gaps = _check_backoff(failed)
    assert NoteAttempt.objects.filter(note=failed, outcome="transient").count() == MAX_ATTEMPTS
    assert _status_lines(w.notes("jose")) == ["Status: New"]
    all_gaps = ada_gaps + jose_gaps
    assert len({round(g, 2) for g in all_gaps}) > 1  # jittered, not lock-step

    lever.clear_faults()
    replay = subprocess.run(
        [sys.executable, "manage.py", "replay", "--failed", "--tenant", w.tenant.slug],
        cwd=ROOT,
        env=stack.base_env(PUBLIC_BASE_URL=stack.portal_url),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert replay.returncode == 0, replay.stderr
    assert "1 note(s)," in replay.stdout
    assert _status_lines(w.wait_notes("jose", 3)) == [
        "Status: New",
        "Status: In Progress",
        "Status: Completed",
    ]
    time.sleep(SWEEP * 2)
    for name in ("ada", "jose", "mary"):
        assert len(w.notes(name)) == 3
    assert not LeverNote.objects.exclude(state="delivered").exists()
    record(
        "lever-5xx-stretch",
        max_attempts=MAX_ATTEMPTS,
        gap_min_s=min(all_gaps),
        gap_max_s=max(all_gaps),
        cap_s=float(FAST_ENV["NOTE_RETRY_MAX_S"]),
    )


# --- 6. Backcheck stops calling back ----------------------------------------------------------


def test_when_backcheck_goes_silent_the_beat_reconciler_brings_every_active_order_to_its_truth(
    stack, fakes
):
    lever, backcheck = fakes
    stack.env["RECONCILE_AFTER_S"] = "1"
    stack.up()
    w = make_tenant(stack, lever, backcheck, candidates=5)
    for opp in w.extra:
        requests.post(w.webhook_url, json=stage_body(w, opp), timeout=10)
    wait_until(
        lambda: Order.objects.filter(tenant=w.tenant, status="Initiated").count() == 5,
        message="five open orders",
    )
    orders = list(Order.objects.filter(tenant=w.tenant).order_by("opportunity_id"))
    steps = [
        lambda s: None,  # nothing happened at Backcheck: stays Initiated
        lambda s: backcheck.consent(s),
        lambda s: (backcheck.consent(s), backcheck.complete(s, "Amber")),
        lambda s: backcheck.error(s, "The consent link expired."),
        lambda s: backcheck.cancel(s),
    ]
    for order, step in zip(orders, steps, strict=True):
        backcheck.stop_callbacks(order.screening_id)
        step(order.screening_id)
    silent_since = time.monotonic()
    assert backcheck.delivered_callbacks() == []

    def converged() -> bool:
        for order in orders:
            truth = backcheck.screening(order.screening_id)
            order.refresh_from_db()
            if (order.status, order.score or None) != (truth["status"], truth["score"]):
                return False
        return True

    wait_until(converged, timeout=30, interval=0.25, message="every order to match Backcheck")
    converge_s = time.monotonic() - silent_since
    expected = {
        0: ("Initiated", True),
        1: ("In Progress", True),
        2: ("Completed", False),
        3: ("Error", False),
        4: ("Canceled", False),
    }
    for index, order in enumerate(orders):
        assert (order.status, order.is_active) == expected[index]
        if index:
            assert order.history.filter(source="reconcile", outcome="applied").count() == 1
    wait_until(lambda: not LeverNote.objects.exclude(state="delivered").exists())
    last_lines = {
        o.pk: _status_lines([n["value"] for n in lever.notes(w.api_key, o.opportunity_id)])
        for o in orders
    }
    assert last_lines[orders[0].pk] == ["Status: New"]
    assert last_lines[orders[1].pk] == ["Status: New", "Status: In Progress"]
    assert last_lines[orders[2].pk] == ["Status: New", "Status: Completed"]
    assert last_lines[orders[3].pk] == ["Status: New", "Status: Error"]
    assert last_lines[orders[4].pk] == ["Status: New", "Status: Canceled"]
    record("backcheck-silent", reconcile_after_s=1, converge_s=converge_s)
