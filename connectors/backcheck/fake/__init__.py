"""A fake Backcheck (docs/CONTRACT.md §6, §9): real HTTP on 127.0.0.1, for tests, the demo, benches.

    with FakeBackcheck(step_seconds=0.05) as fake:       # tests: a random free port
        client = BackcheckClient(base_url=fake.url, client_id=fake.client_id, ...)

    python -m connectors.backcheck.fake --port 8090 --auto-script   # a process

What it does:
- OAuth2 client credentials (`POST /oauth/token`), bearer tokens that expire; bad client
  credentials, unknown or expired tokens → 401.
- `GET /packages`, `POST /screenings` (201, or 409 `{"id": …}` for a reused clientReferenceId),
  `GET /screenings/{id}`, `POST /screenings/{id}/cancel`.
- Named steps (in-process methods or `POST /_control/screenings/{id}/step`): consent,
  complete-service NAME SCORE, complete SCORE, error MESSAGE, cancel, stop-callbacks,
  duplicate-last, send-stale. A state step bumps `updatedAt` (strictly increasing) and POSTs the
  whole screening as a callback with the order's Basic credentials; failed callbacks are retried
  every `callback_retry_seconds`, at most 10 times, like the real service (every 15 minutes).
- The standard timed script (consent → Criminal Record Check Green → complete Green), for every
  screening (`auto_script`) or one (`run_standard_script`, `POST /_control/screenings/{id}/script`).
- Fault injection for the API endpoints: the next N requests answer a status (503 by default),
  latency, dropped connections. A log of every request and of every callback attempt.

Callbacks go out from one dispatcher thread in the order they were scheduled, through the
project's HTTP choke point, so a slow receiver delays later steps rather than reordering them.
"""

from __future__ import annotations

from connectors.backcheck.fake.script import standard_script_payloads
from connectors.backcheck.fake.server import FakeBackcheck
from connectors.backcheck.fake.state import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    BackcheckState,
    ControlError,
)

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "BackcheckState",
    "ControlError",
    "FakeBackcheck",
    "standard_script_payloads",
]
