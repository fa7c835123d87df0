"""Fault 7: a bounded mixed soak — several tenants, concurrent and duplicated webhooks, callbacks
duplicated and reordered, Lever failing now and then — and then EVERY order's final state and
note sequence compared with the pure model of docs/CONTRACT.md §2–3 (tests/support/model.py)."""

from __future__ import annotations

import json
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from connectors.backcheck.fake.script import callback_body
from orders.models import InboundEvent, LeverNote, Order
from tests.support.harness import record, wait_until
from tests.support.model import predict
from tests.support.stack import wire_stack_tenant
from tests.support.wired import stage_body

pytestmark = [pytest.mark.e2e]

CANDIDATES_PER_TENANT = 10
BUDGET_S = 60.0
SCRIPTS = ("standard", "error", "cancel", "reordered")


def _run_script(w, order: Order, script: str, rng: random.Random, arrivals: dict) -> None:
    bc = w.backcheck
    sid = order.screening_id
    if script == "standard":
        bc.consent(sid)
        bc.complete_service(sid, "Criminal Record Check", "Green")
        bc.complete(sid, "Green")
        bc.duplicate_last(sid)
        bc.send_stale(sid)
    elif script == "error":
        bc.consent(sid)
        bc.send_stale(sid)
        bc.error(sid, "The consent link expired.")
    elif script == "cancel":
        bc.consent(sid)
        bc.cancel(sid)
        bc.duplicate_last(sid)
    else:  # the portal hears the snapshots in an order Backcheck never sent them in
        bc.stop_callbacks(sid)
        bc.consent(sid)
        bc.complete_service(sid, "Employment Verification", "Amber")
        bc.complete(sid, "Amber")
        with bc._lock:
            record_ = bc._screenings[sid]
            snapshots = list(record_.snapshots[1:])
            auth = (record_.callback_username, record_.callback_password)
        if w.tenant.piecemeal:
            rng.shuffle(snapshots)
        else:
            snapshots.reverse()  # hand-checked below: newest first, the rest are stale
        snapshots.append(snapshots[0])  # and one duplicate
        sent = []
        for snapshot in snapshots:
            body = callback_body(snapshot)
            response = requests.post(
                w.webhook_url.split("/api/")[0] + "/api/v1/callbacks/backcheck/",
                data=json.dumps(body),
                auth=auth,
                timeout=10,
                headers={"Content-Type": "application/json"},
            )
            assert response.status_code == 200, response.text
            sent.append(body)
        arrivals[sid] = sent


def test_a_mixed_soak_ends_with_every_order_and_note_as_the_model_predicts(stack, fakes):
    lever, backcheck = fakes
    stack.up(concurrency=3)
    tenants = [
        wire_stack_tenant(
            stack,
            lever,
            backcheck,
            candidates=CANDIDATES_PER_TENANT,
            slug=f"soak-{kind}",
            piecemeal=kind != "plain",
            cma=kind == "cma",
        )
        for kind in ("plain", "piecemeal", "cma")
    ]
    started = time.monotonic()
    rng = random.Random(7)

    # Webhooks: every stage change delivered twice at once, all tenants concurrently.
    lever.inject_fault(status=503, count=6, method="POST", path_contains="/notes")
    answers: list[str] = []
    with ThreadPoolExecutor(12) as pool:
        futures = []
        for w in tenants:
            for opp in w.extra:
                body = stage_body(w, opp)
                for _ in range(2):
                    futures.append(pool.submit(requests.post, w.webhook_url, json=body, timeout=10))
        answers = [f.result().json()["status"] for f in futures]
    total = len(tenants) * CANDIDATES_PER_TENANT
    assert sorted(answers) == ["accepted"] * total + ["duplicate"] * total
    wait_until(
        lambda: Order.objects.filter(status="Initiated").count() == total,
        timeout=30,
        message="every order opened at Backcheck",
    )

    # Callbacks: four scripts, all orders at once; Lever drops connections and 503s meanwhile.
    lever.inject_fault(drop_after_apply=True, count=2, method="POST", path_contains="/notes")
    lever.inject_fault(status=503, count=6, method="POST", path_contains="/notes")
    arrivals: dict[str, list[dict]] = {}
    plan: dict[int, tuple] = {}
    threads = []
    for w in tenants:
        for index, opp in enumerate(w.extra):
            order = Order.objects.get(tenant=w.tenant, opportunity_id=opp)
            script = SCRIPTS[index % len(SCRIPTS)]
            plan[order.pk] = (w, script)
            threads.append(
                threading.Thread(target=_run_script, args=(w, order, script, rng, arrivals))
            )
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=BUDGET_S)
    backcheck.wait_idle(timeout=30)
    wait_until(
        lambda: (
            not LeverNote.objects.exclude(state="delivered").exists()
            and not InboundEvent.objects.filter(state__in=["received", "processing"]).exists()
        ),
        timeout=max(5.0, BUDGET_S - (time.monotonic() - started)),
        interval=0.25,
        message="every note delivered",
    )
    elapsed = time.monotonic() - started
    assert elapsed <= BUDGET_S

    compared = 0
    hand_checked = 0
    for order in Order.objects.select_related("tenant"):
        w, script = plan[order.pk]
        sid = order.screening_id
        with backcheck._lock:
            created = backcheck._screenings[sid].snapshots[0]
        if sid not in arrivals:  # delivered by the fake: its log, in arrival order
            arrivals[sid] = [
                json.loads(c["body"])
                for c in backcheck.callbacks
                if c["screening_id"] == sid and c["delivered"]
            ]
        model = predict(
            created,
            arrivals[sid],
            piecemeal=w.tenant.piecemeal,
            cma=w.tenant.cma,
            package_name=order.package_name,
        )
        view = model.view
        assert (
            order.status,
            order.score or None,
            order.piecemeal_status or None,
            order.report_url or None,
            order.is_active,
        ) == (view.status, view.score, view.piecemeal_status, view.report_url, view.is_active), (
            script,
            order.pk,
        )
        live = [n["value"] for n in lever.notes(w.api_key, order.opportunity_id)]
        assert live == model.notes, (script, w.tenant.slug)
        outcomes = list(
            order.history.filter(source="callback")
            .order_by("created_at", "id")
            .values_list("outcome", flat=True)
        )
        assert outcomes == model.outcomes, (script, outcomes, model.outcomes)
        compared += 1

        # Hand-computed from docs/CONTRACT.md §2–3, independent of the model.
        if not w.tenant.piecemeal:
            lines = [n.splitlines()[1] for n in live]
            expected = {
                "standard": (
                    ["Status: New", "Status: In Progress", "Status: Completed"],
                    # send-stale re-sends a snapshot already heard: a duplicate
                    ["applied", "applied", "applied", "duplicate", "duplicate"],
                ),
                "error": (
                    ["Status: New", "Status: In Progress", "Status: Error"],
                    ["applied", "duplicate", "applied"],
                ),
                "cancel": (
                    ["Status: New", "Status: In Progress", "Status: Canceled"],
                    ["applied", "applied", "duplicate"],
                ),
                "reordered": (
                    ["Status: New", "Status: Completed"],
                    ["applied", "stale", "stale", "duplicate"],
                ),
            }[script]
            assert (lines, outcomes) == expected, script
            assert (
                order.status
                == {
                    "standard": "Completed",
                    "error": "Error",
                    "cancel": "Canceled",
                    "reordered": "Completed",
                }[script]
            )
            hand_checked += 1
    assert compared == total
    assert LeverNote.objects.filter(state="delivered").count() == sum(
        len(lever.notes(w.api_key, opp)) for w in tenants for opp in w.extra
    )
    record(
        "soak",
        tenants=len(tenants),
        orders=compared,
        hand_checked=hand_checked,
        notes=LeverNote.objects.count(),
        elapsed_s=elapsed,
    )
