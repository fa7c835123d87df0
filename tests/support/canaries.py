"""Canary credentials: distinctive strings a test looks for in pages, logs and command output.

A test that finds one has found a leaked secret.
"""

from __future__ import annotations

CANARY_API_KEY = "CANARYleverKEY-7f3a9c1e5b2d4f60"
CANARY_TOKEN = "CANARYsigTOKEN-a1b2c3d4e5f6a7b8"
CANARY_CLIENT_ID = "CANARYclientID-1234"
CANARY_CLIENT_SECRET = "CANARYclientSECRET-zz99"
CANARIES = (CANARY_API_KEY, CANARY_TOKEN, CANARY_CLIENT_ID, CANARY_CLIENT_SECRET)


def assert_no_canary(text: str) -> None:
    for canary in CANARIES:
        assert canary not in text, f"secret {canary[:12]}… leaked"
        # The distinctive middle part alone would still be a leak (e.g. a partial echo).
        assert canary[6:18] not in text, f"part of secret {canary[:12]}… leaked"
