"""The fake Lever itself: webhooks, rate limiting, pagination, control API, notes page, CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from connectors.demo_data import DEMO_SEED
from connectors.http import HttpError
from connectors.lever.client import LeverClient
from connectors.lever.fake import BG_CHECK_STAGE_ID, FakeLever
from connectors.lever.ratelimit import LocalLimiter
from connectors.lever.signature import is_verify_connection_test, signature_matches

REPO = Path(__file__).resolve().parents[3]


def test_move_to_stage_updates_the_candidate_and_posts_a_signed_webhook(fake, api_key, receiver):
    opp_id = fake.add_opportunity(
        api_key, name="Ada", emails=["a@example.com"], stage="applicant-new"
    )
    body = fake.move_to_stage(
        api_key, opp_id, BG_CHECK_STAGE_ID, webhook_url=receiver.url, signature_token="sig-tok-1"
    )

    assert receiver.bodies == [body]
    assert receiver.headers[0]["User-Agent"] == "Lever-Webhooks"
    assert receiver.headers[0]["Content-Type"] == "application/json"
    assert body["event"] == "candidateStageChange"
    assert body["data"] == {
        "opportunityId": opp_id,
        "candidateId": opp_id,
        "contactId": fake.opportunity(api_key, opp_id)["contact"],
        "toStageId": BG_CHECK_STAGE_ID,
        "fromStageId": "applicant-new",
    }
    assert signature_matches(body, ["sig-tok-1"]) and not signature_matches(body, ["other"])
    assert abs(body["triggeredAt"] - time.time() * 1000) < 5000
    opp = fake.opportunity(api_key, opp_id)
    assert opp["stage"] == BG_CHECK_STAGE_ID
    assert [c["toStageId"] for c in opp["stageChanges"]] == ["applicant-new", BG_CHECK_STAGE_ID]


def test_webhook_is_retried_five_times_on_non_2xx_including_redirects(fake, api_key, receiver):
    opp_id = fake.add_opportunity(api_key, name="Ada", emails=["a@example.com"])
    receiver.statuses = [500, 302, 503, 404]
    fake.move_to_stage(api_key, opp_id, "offer", webhook_url=receiver.url, signature_token="t")
    assert [d["status"] for d in fake.webhook_deliveries] == [500, 302, 503, 404, 200]
    assert len({b["token"] for b in receiver.bodies}) == 1  # a retry resends the same delivery


def test_webhook_gives_up_after_five_retries(fake, api_key, receiver):
    opp_id = fake.add_opportunity(api_key, name="Ada", emails=["a@example.com"])
    receiver.statuses = [500] * 10
    fake.move_to_stage(api_key, opp_id, "offer", webhook_url=receiver.url, signature_token="t")
    assert len(receiver.bodies) == 6


def test_verify_connection_test_has_empty_data_and_is_signed(fake, receiver):
    assert fake.send_verify_connection(receiver.url, signature_token="sig-tok-2") == 200
    [body] = receiver.bodies
    assert is_verify_connection_test(body)
    assert signature_matches(body, ["sig-tok-2"])


def test_verify_connection_before_a_token_exists_cannot_be_verified(fake, receiver):
    receiver.statuses = [401]
    assert fake.send_verify_connection(receiver.url) == 401
    assert len(receiver.bodies) == 1  # the test delivery is not retried


def test_token_bucket_answers_429_with_retry_after(fake, api_key):
    fake.set_rate_limit(api_key, rate=2, burst=3)
    statuses, headers = [], []
    for _ in range(4):
        response = requests.get(f"{fake.base_url}/stages", auth=(api_key, ""), timeout=5)
        statuses.append(response.status_code)
        headers.append(response.headers)
    assert statuses == [200, 200, 200, 429]
    assert headers[3]["Retry-After"] == "1"
    assert (
        requests.get(f"{fake.base_url}/stages", auth=(api_key, ""), timeout=5).json()["code"]
        == "TooManyRequests"
    )


def test_token_bucket_can_answer_429_without_any_wait_header(fake, api_key):
    fake.set_rate_limit(api_key, rate=1, burst=1, retry_after_mode="none")
    requests.get(f"{fake.base_url}/stages", auth=(api_key, ""), timeout=5)
    response = requests.get(f"{fake.base_url}/stages", auth=(api_key, ""), timeout=5)
    assert response.status_code == 429
    assert "Retry-After" not in response.headers and "X-RateLimit-Reset" not in response.headers


def test_pagination_tokens_are_opaque_and_checked(fake, api_key):
    fake.max_page_size = 3
    first = requests.get(f"{fake.base_url}/stages", auth=(api_key, ""), timeout=5).json()
    assert first["hasNext"] is True and not first["next"].isdigit() and len(first["next"]) >= 12
    bad = requests.get(
        f"{fake.base_url}/stages", params={"offset": "3"}, auth=(api_key, ""), timeout=5
    )
    assert bad.status_code == 400 and bad.json()["code"] == "BadRequestError"
    too_big = requests.get(
        f"{fake.base_url}/stages", params={"limit": 101}, auth=(api_key, ""), timeout=5
    )
    assert too_big.status_code == 400


def test_request_log_names_the_key_by_id_and_hash_never_the_key(fake, api_key, client):
    client.list_users()
    [entry] = fake.requests
    assert entry["key_id"] == fake.key_id(api_key) and len(entry["key_hash"]) == 12
    assert entry["method"] == "GET" and entry["path"].startswith("/v1/users")
    assert entry["status"] == 200 and entry["time"] > 0
    assert api_key not in str(fake.requests)


def test_control_api_drives_the_fake(fake, receiver):
    control = f"{fake.root_url}/_control"
    assert (
        requests.post(
            f"{control}/accounts", json={"api_key": "ctl-key-123456"}, timeout=5
        ).status_code
        == 201
    )
    opp = requests.post(
        f"{control}/opportunities",
        timeout=5,
        json={
            "api_key": "ctl-key-123456",
            "name": "Ctl Candidate",
            "emails": ["c@example.com"],
            "posting_tags": ["executive-ca"],
        },
    ).json()["id"]
    moved = requests.post(
        f"{control}/move",
        timeout=5,
        json={
            "key_id": "acct-1",
            "opportunity_id": opp,
            "stage_id": BG_CHECK_STAGE_ID,
            "webhook_url": receiver.url,
            "signature_token": "ctl-token",
        },
    ).json()["body"]
    assert receiver.bodies == [moved] and signature_matches(moved, ["ctl-token"])
    requests.post(f"{control}/faults", json={"status": 500, "count": 1}, timeout=5)
    first = requests.get(f"{fake.base_url}/stages", auth=("ctl-key-123456", ""), timeout=5)
    second = requests.get(f"{fake.base_url}/stages", auth=("ctl-key-123456", ""), timeout=5)
    assert (first.status_code, second.status_code) == (500, 200)
    log = requests.get(f"{control}/requests", timeout=5).json()["data"]
    assert [e["status"] for e in log if e["path"].startswith("/v1/")] == [500, 200]
    assert requests.get(f"{control}/opportunities/{opp}", timeout=5).json()["data"]["stage"] == (
        BG_CHECK_STAGE_ID
    )
    assert requests.post(f"{control}/faults", json={"bogus": 1}, timeout=5).status_code == 400
    assert requests.post(
        f"{control}/verify-connection", timeout=5, json={"webhook_url": receiver.url}
    ).json() == {"status": 200}


def test_candidate_page_lists_notes_newest_first_as_a_recruiter_reads_them(fake, api_key, client):
    opp_id = fake.add_opportunity(api_key, name="Ada <Lovelace>", emails=["a@example.com"])
    client.create_note(opp_id, value="Sterling Backcheck background check\nStatus: New")
    time.sleep(0.01)
    client.create_note(opp_id, value="Sterling Backcheck background check\nStatus: <Completed>")
    page = requests.get(f"{fake.root_url}/candidates/{opp_id}", timeout=5)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    text = page.text
    assert "Ada &lt;Lovelace&gt;" in text and "<Lovelace>" not in text
    assert "Status: &lt;Completed&gt;\n" not in text  # no trailing newline added
    assert text.index("Status: &lt;Completed&gt;") < text.index("Status: New")
    assert "Notes (2)" in text
    assert requests.get(f"{fake.root_url}/candidates/nope", timeout=5).status_code == 404


def test_demo_seed_has_fixed_ids_and_the_cases_the_demo_needs():
    candidates = DEMO_SEED["candidates"]
    assert DEMO_SEED["background_check_stage_id"] == BG_CHECK_STAGE_ID
    assert {"lead-new", "applicant-new", "offer", BG_CHECK_STAGE_ID} <= {
        s["id"] for s in DEMO_SEED["stages"]
    }
    assert any(not c["emails"] for c in candidates.values())
    assert any(c["posting_tags"] for c in candidates.values())
    assert len(DEMO_SEED["users"]) == 1


def test_fake_server_runs_as_a_process_with_the_demo_seed():
    with FakeLever() as probe:  # find a free port, then hand it to the process
        port = probe.port
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "connectors.lever.fake",
            "--port",
            str(port),
            "--seed-demo",
            "-",
            "demo-signature-token",
        ],
        cwd=REPO,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        proc.stdin.write("demo-api-key-0001\n")
        proc.stdin.flush()
        lines = [proc.stdout.readline() for _ in range(2)]
        assert "listening" in lines[0] and "Seeded demo account" in lines[1]
        assert "demo-api-key-0001" not in "".join(lines)
        ada = DEMO_SEED["candidates"]["ada"]["opportunity_id"]
        for _ in range(50):
            try:
                got = requests.get(
                    f"http://127.0.0.1:{port}/v1/opportunities/{ada}",
                    auth=("demo-api-key-0001", ""),
                    timeout=2,
                )
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        assert got.json()["data"]["name"] == "Ada Lovelace"
    finally:
        proc.terminate()
        proc.wait(timeout=5)


def test_a_key_without_a_permission_gets_403_on_that_endpoint_only(fake):
    key = "lvr-limited-0123456789abcdef"
    fake.add_account(key, forbidden=["GET /postings/*", "POST /opportunities/*/notes?perform_as"])
    opp = fake.add_opportunity(key, name="Ada", emails=["a@example.com"], posting_tags=["x"])
    posting = fake.opportunity(key, opp)["applications"][0]["posting"]
    with LeverClient(base_url=fake.base_url, api_key=key, limiter=LocalLimiter()) as lever:
        assert lever.list_stages()  # other reads work
        with pytest.raises(HttpError) as refused:
            lever._get_data(f"postings/{posting}", "posting")
        assert refused.value.status == 403 and refused.value.kind == "permanent"
        with pytest.raises(HttpError) as as_author:
            lever.create_note(opp, value="hi", perform_as=fake.accounts[key]["users"][0]["id"])
        assert as_author.value.status == 403
        assert lever.create_note(opp, value="hi")  # without perform_as the note is allowed
    with pytest.raises(ValueError):
        fake.add_account("other-key-0123456789", forbidden=["stages"])
