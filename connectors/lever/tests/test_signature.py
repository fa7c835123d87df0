from __future__ import annotations

import time

import pytest

from connectors.crypto import Secret
from connectors.lever.signature import (
    compute_signature,
    is_fresh,
    is_verify_connection_test,
    signature_matches,
)
from tests.support.lever import load_fixture

VECTOR_KEY = "test-signature-token"
VECTOR_TOKEN = "be58f711f349c7780e4579cd7c63341ac6f881e4dccc3154"
VECTOR_AT = 1431454330072
VECTOR_SIGNATURE = "67237316b71be6f4595c3313d347b09353b22d7cbab3726261b73d409acd8fd7"


def signed(signature_token: str, *, triggered_at: int | None = None, **extra) -> dict:
    triggered_at = triggered_at if triggered_at is not None else int(time.time() * 1000)
    token = "a" * 48
    return {
        "id": "evt-1",
        "event": "candidateStageChange",
        "token": token,
        "triggeredAt": triggered_at,
        "signature": compute_signature(signature_token, token, triggered_at),
        "data": {"opportunityId": "opp-1", "toStageId": "stage-1"},
        **extra,
    }


def test_known_answer_vector_from_lever_api_doc():
    assert compute_signature(VECTOR_KEY, VECTOR_TOKEN, VECTOR_AT) == VECTOR_SIGNATURE
    assert compute_signature(VECTOR_KEY, VECTOR_TOKEN, str(VECTOR_AT)) == VECTOR_SIGNATURE


def test_recorded_stage_change_fixture_verifies_with_its_token():
    body = load_fixture("candidate_stage_change.json")
    assert signature_matches(body, [VECTOR_KEY])


def test_unsigned_data_does_not_change_the_verdict():
    # docs/LEVER.md: `data` is not signed, which is why the worker re-reads the opportunity.
    body = load_fixture("candidate_stage_change.json")
    body["data"]["toStageId"] = "something-else"
    assert signature_matches(body, [VECTOR_KEY])


def test_wrong_signature_is_rejected():
    body = load_fixture("candidate_stage_change.json")
    body["signature"] = body["signature"][:-1] + ("0" if body["signature"][-1] != "0" else "1")
    assert not signature_matches(body, [VECTOR_KEY])


def test_wrong_signature_token_is_rejected():
    assert not signature_matches(load_fixture("candidate_stage_change.json"), ["other-token"])


def test_tampered_token_or_timestamp_is_rejected():
    body = load_fixture("candidate_stage_change.json")
    assert not signature_matches({**body, "token": body["token"] + "x"}, [VECTOR_KEY])
    assert not signature_matches({**body, "triggeredAt": VECTOR_AT + 1}, [VECTOR_KEY])


def test_current_or_previous_token_is_accepted():
    body = signed("previous-token-value")
    assert signature_matches(body, ["current-token-value", "previous-token-value"])
    assert signature_matches(signed("current-token-value"), ["current-token-value", None])


def test_secret_wrapped_tokens_are_accepted():
    body = signed("secret-wrapped-token")
    assert signature_matches(body, [Secret("secret-wrapped-token")])


def test_no_configured_token_rejects_everything():
    assert not signature_matches(signed("x-token-value"), [])
    assert not signature_matches(signed("x-token-value"), [None, ""])


@pytest.mark.parametrize("field", ["token", "triggeredAt", "signature"])
def test_missing_signed_field_is_rejected(field):
    body = load_fixture("candidate_stage_change.json")
    del body[field]
    assert not signature_matches(body, [VECTOR_KEY])


@pytest.mark.parametrize(
    "change",
    [
        {"triggeredAt": float(VECTOR_AT)},
        {"triggeredAt": True},
        {"triggeredAt": "-1431454330072"},
        {"token": 12345},
        {"token": ""},
        {"signature": VECTOR_SIGNATURE[:63]},
        {"signature": "z" * 64},
        {"signature": None},
    ],
)
def test_ill_typed_signed_fields_are_rejected(change):
    body = {**load_fixture("candidate_stage_change.json"), **change}
    assert not signature_matches(body, [VECTOR_KEY])


def test_non_object_bodies_are_rejected():
    assert not signature_matches([], [VECTOR_KEY])
    assert not signature_matches("body", [VECTOR_KEY])


def test_uppercase_hex_signature_is_accepted():
    body = load_fixture("candidate_stage_change.json")
    body["signature"] = body["signature"].upper()
    assert signature_matches(body, [VECTOR_KEY])


def test_fresh_within_max_age_and_skew(settings):
    settings.LEVER_WEBHOOK_MAX_AGE_S = 3600
    settings.LEVER_WEBHOOK_MAX_SKEW_S = 300
    now = 1_800_000_000.0
    assert is_fresh(int(now * 1000), now=now)
    assert is_fresh(int((now - 3599) * 1000), now=now)
    assert is_fresh(int((now + 299) * 1000), now=now)


def test_stale_triggered_at_is_rejected(settings):
    settings.LEVER_WEBHOOK_MAX_AGE_S = 3600
    now = 1_800_000_000.0
    assert not is_fresh(int((now - 3601) * 1000), now=now)
    assert not is_fresh(VECTOR_AT)  # the 2015 fixture, against the real clock and defaults


def test_future_triggered_at_beyond_skew_is_rejected(settings):
    settings.LEVER_WEBHOOK_MAX_SKEW_S = 300
    now = 1_800_000_000.0
    assert not is_fresh(int((now + 301) * 1000), now=now)


def test_freshness_uses_default_settings():
    now = time.time()
    assert is_fresh(int((now - 1209600 + 60) * 1000), now=now)
    assert not is_fresh(int((now - 1209600 - 60) * 1000), now=now)


@pytest.mark.parametrize("value", [None, "soon", 1.5e12, True])
def test_freshness_rejects_non_integer_timestamps(value):
    assert not is_fresh(value)


def test_verify_connection_test_is_recognised_by_empty_data():
    assert is_verify_connection_test(load_fixture("verify_connection_test.json"))
    assert not is_verify_connection_test(load_fixture("candidate_stage_change.json"))
    assert not is_verify_connection_test({"event": "candidateStageChange"})
    assert not is_verify_connection_test({"data": []})
    assert not is_verify_connection_test({"data": None})
