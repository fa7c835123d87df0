"""Benchmark: memory of one Celery worker (prefork, as production) delivering notes to Lever.

    .venv/bin/python -m bench.worker_memory            # 100,000 notes
    .venv/bin/python -m bench.worker_memory --smoke    # 2,500 notes (about a minute)

One worker process with its pool children delivers notes to the fake Lever (one tenant, a rate
limit far above what the worker reaches, so that only the worker's own work is measured). Notes
are spread over orders (5 an order, FIFO per order) and published the way `note_enqueue` does.
The pool children are never replaced during the run (a huge CELERY_WORKER_MAX_TASKS_PER_CHILD):
production replaces each after 1,000 tasks, which would hide a leak instead of measuring it.

RSS (from /proc) of the parent and of every pool child is read after the first 1,000 notes
(the baseline: imports, connections and caches are warm by then) and after the last.
Target: the total grows ≤ 10% over the baseline.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import time
from pathlib import Path

from bench import harness

NOTES_PER_ORDER = 5
BASELINE_AFTER = 1_000


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.extend(int(child) for child in text)
    return found


def _memory(parent: int) -> dict[str, float]:
    """RSS in MiB: parent, children (sum) and total; the children's pids."""
    children = _children(parent)
    child_kib = sum(_rss_kib(pid) for pid in children)
    parent_kib = _rss_kib(parent)
    return {
        "parent": parent_kib / 1024,
        "children": child_kib / 1024,
        "total": (parent_kib + child_kib) / 1024,
        "pids": children,  # type: ignore[dict-item]
    }


def _setup(fake, notes: int) -> tuple[list[int], str]:
    from orders.models import LeverNote
    from tests.support.factories import TenantFactory

    api_key = "bench-memory-" + secrets.token_hex(8)
    fake.add_account(api_key, rate=100_000.0, burst=100_000)
    tenant = TenantFactory(
        name="Memory bench",
        slug="memory-bench",
        lever_base_url=fake.base_url,
        lever_api_key=api_key,
        lever_signature_token="bench-token-0123456789abcdef",
        lever_rate_per_s=10_000.0,
        lever_burst=10_000,
    )
    chunk = 5_000
    for start in range(0, notes, chunk):
        harness.seed_pending_notes(
            fake,
            api_key,
            tenant,
            prefix="mem",
            notes=min(chunk, notes - start),
            per_order=NOTES_PER_ORDER,
            first=start,
        )
    ids = list(LeverNote.objects.filter(tenant=tenant).order_by("id").values_list("id", flat=True))
    return ids, api_key


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--notes", type=int, default=None)
    parser.add_argument("--concurrency", type=int, default=2, help="pool processes")
    args = parser.parse_args(argv)
    notes = args.notes or (2_500 if args.smoke else 100_000)

    env = harness.prepare(CELERY_WORKER_MAX_TASKS_PER_CHILD="1000000000")
    from connectors.lever.fake import FakeLever
    from orders.models import LeverNote
    from orders.tasks import deliver_notes

    report = harness.Report(
        f"Worker memory ({'smoke' if args.smoke else 'full'}; {notes} notes, one worker, "
        f"prefork concurrency {args.concurrency})"
    )
    with FakeLever() as fake:
        ids, _ = _setup(fake, notes)
        fake.clear_requests()  # its request log would only grow this process
        with harness.start_worker(env, args.concurrency) as worker:
            assert worker.proc is not None
            parent = worker.proc.pid
            delivered = LeverNote.objects.filter(pk__in=ids, state="delivered")

            def count() -> int:
                return LeverNote.objects.filter(state="delivered").count()

            started = time.monotonic()
            for note_id in ids[:BASELINE_AFTER]:
                deliver_notes.apply_async(args=(note_id,), retry=False)
            harness.wait_until(
                lambda: count() >= BASELINE_AFTER, 600, "the first 1,000 notes", every=0.5
            )
            baseline = _memory(parent)
            first_s = time.monotonic() - started
            samples = [(BASELINE_AFTER, baseline["total"])]
            published = BASELINE_AFTER
            # Published in steps, each once the worker has caught up, so that the broker's queue
            # (in Redis, not the worker) stays short, and RSS is sampled along the way.
            step = max(1_000, notes // 20)
            while published < len(ids):
                batch = ids[published : published + step]
                for note_id in batch:
                    deliver_notes.apply_async(args=(note_id,), retry=False)
                published += len(batch)
                target = published
                harness.wait_until(
                    lambda: count() >= target,  # noqa: B023 - waited on before the next batch
                    600,
                    f"{target} notes delivered",
                    every=0.5,
                )
                fake.clear_requests()
                samples.append((published, _memory(parent)["total"]))
                print(
                    f"{published} notes: {samples[-1][1]:.1f} MiB "
                    f"({time.monotonic() - started:.0f} s)",
                    flush=True,
                )
            final = _memory(parent)
            wall = time.monotonic() - started
            assert final["pids"] == baseline["pids"], "a pool child was replaced during the run"
            assert delivered.count() == len(ids)

    growth = final["total"] / baseline["total"] - 1
    report.row("after 1,000 notes: parent RSS (baseline)", baseline["parent"], "MiB")
    report.row("after 1,000 notes: pool children RSS", baseline["children"], "MiB")
    report.row("after 1,000 notes: total RSS (baseline)", baseline["total"], "MiB")
    report.row(f"after {notes} notes: parent RSS", final["parent"], "MiB", baseline["parent"])
    report.row(
        f"after {notes} notes: pool children RSS", final["children"], "MiB", baseline["children"]
    )
    report.row(f"after {notes} notes: total RSS", final["total"], "MiB", baseline["total"])
    report.row("throughput", (len(ids) - BASELINE_AFTER) / max(0.001, wall - first_s), "notes/s")
    report.data["samples"] = samples
    report.check("total RSS growth ≤ 10%", growth * 100, "≤ 10 %", growth <= 0.10)
    return report.finish("worker_memory", smoke=args.smoke)


if __name__ == "__main__":
    sys.exit(main())
