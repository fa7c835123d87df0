"""python -m connectors.lever.fake --port 8101 [--seed-demo API_KEY SIGNATURE_TOKEN]

`--seed-demo` seeds the demo account (connectors/demo_data.py); either value
may be `-` to read it from stdin instead of argv.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from connectors.demo_data import DEMO_SEED
from connectors.lever.fake.server import FakeLever
from connectors.lever.fake.state import seed_account


def _read_secret(value: str, label: str) -> str:
    if value != "-":
        return value
    line = sys.stdin.readline().strip()
    if not line:
        raise SystemExit(f"fake Lever: empty {label} on stdin")
    return line


def _print_seed(fake: FakeLever, api_key: str) -> None:
    print(f"Seeded demo account {fake.key_id(api_key)} (key ••••{api_key[-4:]}):")
    for stage in DEMO_SEED["stages"]:
        print(f"  stage {stage['id']:40} {stage['text']}")
    for user in DEMO_SEED["users"]:
        print(f"  user  {user['id']:40} {user['name']} <{user['email']}>")
    for name, c in DEMO_SEED["candidates"].items():
        print(
            f"  candidate {name:6} {c['opportunity_id']}  {c['name']!r} "
            f"emails={c['emails']} tags={c['tags']} posting_tags={c['posting_tags']}"
        )
        print(f"         notes page: {fake.root_url}/candidates/{c['opportunity_id']}")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m connectors.lever.fake",
        description="Fake Lever API server (tests and demo).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8101)
    parser.add_argument(
        "--seed-demo",
        nargs=2,
        metavar=("API_KEY", "SIGNATURE_TOKEN"),
        help="seed the demo account; '-' reads a value from stdin",
    )
    parser.add_argument("--max-page-size", type=int, default=100)
    args = parser.parse_args(argv)

    fake = FakeLever(host=args.host, port=args.port, max_page_size=args.max_page_size)
    fake.start()
    print(f"Fake Lever listening on {fake.root_url} (API base {fake.base_url})", flush=True)
    if args.seed_demo:
        api_key = _read_secret(args.seed_demo[0], "API key")
        token = _read_secret(args.seed_demo[1], "signature token")
        seed_account(fake, api_key, token, DEMO_SEED)
        _print_seed(fake, api_key)

    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    done.wait()
    fake.stop()


if __name__ == "__main__":
    main()
