"""A fake Lever (real HTTP on 127.0.0.1) that behaves like docs/LEVER.md, for tests and the demo.

    python -m connectors.lever.fake --port 8101 [--seed-demo API_KEY SIGNATURE_TOKEN]

(either seed value may be `-` to read it from stdin instead of argv). In tests::

    with FakeLever() as fake:
        fake.add_account("key-1")
        opp = fake.add_opportunity("key-1", name="Ada Lovelace", emails=["ada@example.com"])

What it does: Basic-auth API keys (one account each), Lever's envelopes, error bodies and status
codes, opaque pagination tokens, a token bucket per key answering 429 (with Retry-After,
X-RateLimit-Reset or no header), injectable faults (5xx, latency, hangs, dropped connections), a
log of every request, stage moves that POST signed `candidateStageChange` webhooks (retried five
times on non-2xx), the signed Verify Connection test, a recruiter's HTML view of a candidate's
notes (GET /candidates/<id>), and a JSON control API under /_control/ (no Lever auth).

Control API (JSON bodies; an account is named by "api_key" or "key_id"):
  GET  /_control/health | /_control/state | /_control/requests | /_control/webhooks
  GET  /_control/opportunities/<id> | /_control/notes/<opportunity id>
  POST /_control/reset | /_control/accounts {api_key, users?, stages?, rate?, burst?,
       retry_after_mode?, archived_shape?, forbidden?, signature_token?} | /_control/opportunities {api_key|key_id, name,
       emails, phones?, tags?, posting_tags?, stage?, archived?, opportunity_id?}
  POST /_control/move {api_key|key_id, opportunity_id, stage_id, webhook_url?, signature_token?,
       async?} | /_control/verify-connection {webhook_url, signature_token?}
  POST /_control/faults {status?, count?, latency_s?, hang?, drop_after_read?, drop_after_apply?,
       retry_after?, method?, path_contains?}; DELETE /_control/faults | /_control/requests
  POST /_control/rate-limit {api_key|key_id, rate, burst, retry_after_mode?}
  POST /_control/note-response-style {style: "noteId"|"note"}

It is a test tool, not part of the portal: it speaks HTTP with the standard library only, and it
never contacts anything but the webhook URLs it is given.
"""

from connectors.lever.fake.defaults import BG_CHECK_STAGE_ID, DEFAULT_STAGES, DEFAULT_USERS
from connectors.lever.fake.errors import ApiError
from connectors.lever.fake.server import FakeLever
from connectors.lever.fake.state import LeverState, key_hash, seed_account

__all__ = [
    "BG_CHECK_STAGE_ID",
    "DEFAULT_STAGES",
    "DEFAULT_USERS",
    "ApiError",
    "FakeLever",
    "LeverState",
    "key_hash",
    "seed_account",
]
