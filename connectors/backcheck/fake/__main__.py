"""python -m connectors.backcheck.fake --port 8090 [--auto-script] [--packages code:name,...]"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from collections.abc import Iterable

from connectors.backcheck.fake.server import FakeBackcheck
from connectors.backcheck.fake.state import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET


def _parse_packages(spec: str) -> dict[str, str]:
    packages = {}
    for entry in filter(None, (part.strip() for part in spec.split(","))):
        code, sep, name = entry.partition(":")
        if not sep or not code or not name:
            raise argparse.ArgumentTypeError(f"expected code:name, got {entry!r}")
        packages[code] = name
    return packages


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m connectors.backcheck.fake",
        description="Run the fake Backcheck API on 127.0.0.1.",
    )
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--client-id", default=DEFAULT_CLIENT_ID)
    # The fake's own made-up credential, so argv is acceptable here (never a real secret).
    parser.add_argument("--client-secret", default=DEFAULT_CLIENT_SECRET)
    parser.add_argument("--packages", type=_parse_packages, default=None, help="code:name,...")
    parser.add_argument("--auto-script", action="store_true")
    parser.add_argument("--step-seconds", type=float, default=5.0)
    parser.add_argument("--callback-retry-seconds", type=float, default=900.0)
    parser.add_argument("--token-ttl-seconds", type=int, default=3600)
    args = parser.parse_args(list(argv) if argv is not None else None)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    fake = FakeBackcheck(
        port=args.port,
        client_id=args.client_id,
        client_secret=args.client_secret,
        packages=args.packages,
        auto_script=args.auto_script,
        step_seconds=args.step_seconds,
        callback_retry_seconds=args.callback_retry_seconds,
        token_ttl_s=args.token_ttl_seconds,
    ).start()
    done = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: done.set())
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    print(f"Fake Backcheck listening on {fake.url} (Ctrl-C stops)", flush=True)
    done.wait()
    fake.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
