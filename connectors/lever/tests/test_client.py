"""The Lever client over real HTTP against the fake Lever; assertions on what the fake received."""

from __future__ import annotations

import time

import pytest

from connectors.crypto import Secret
from connectors.http import USER_AGENT, HttpError
from connectors.lever.client import LeverClient, LeverNotConfigured, RateLimited
from connectors.lever.fake import BG_CHECK_STAGE_ID, DEFAULT_STAGES, DEFAULT_USERS
from connectors.lever.fake.state import forbidden_rule
from connectors.lever.ratelimit import LocalLimiter
from connectors.lever.shapes import Note, Opportunity, Phone, Stage, StageChange, User
from connectors.models import LEVER_BASE_URL_PRESETS
from tests.support.factories import TenantFactory


def call_with_retries(func, attempts: int = 5):
    """What a task's retry policy does, compressed: retry transient errors, stop on others."""
    for attempt in range(attempts):
        try:
            return func()
        except HttpError as exc:
            if exc.kind != "transient" or attempt == attempts - 1:
                raise
            time.sleep(exc.retry_after_s or 0.01)


def test_get_opportunity_returns_typed_candidate_with_posting_tags(fake, api_key, client):
    opp_id = fake.add_opportunity(
        api_key,
        name="José Núñez-O'Brien",
        emails=["jose@example.com", "j.nunez@example.com"],
        phones=[{"type": "mobile", "value": "+1 416 555 0100"}, {"type": None, "value": "555"}],
        tags=["Finance"],
        posting_tags=["executive-ca", "Toronto"],
        stage="applicant-new",
    )
    fake.move_to_stage(api_key, opp_id, BG_CHECK_STAGE_ID)

    opp = client.get_opportunity(opp_id)

    assert isinstance(opp, Opportunity)
    assert opp.id == opp_id
    assert opp.name == "José Núñez-O'Brien"
    assert opp.emails == ["jose@example.com", "j.nunez@example.com"]
    assert opp.phones == [Phone("mobile", "+1 416 555 0100"), Phone(None, "555")]
    assert opp.stage == BG_CHECK_STAGE_ID
    assert opp.archived is None
    assert opp.tags == ["Finance"]
    assert opp.posting_tags == ["executive-ca", "Toronto"]
    assert [c.to_stage_id for c in opp.stage_changes] == ["applicant-new", BG_CHECK_STAGE_ID]
    assert all(isinstance(c, StageChange) and c.updated_at > 1e12 for c in opp.stage_changes)
    assert opp.show_url == f"{fake.root_url}/candidates/{opp_id}"
    assert opp.contact
    paths = [r["path"] for r in fake.requests_for(api_key)]
    assert paths[0] == f"/v1/opportunities/{opp_id}?expand=applications"
    assert paths[1].startswith("/v1/postings/")


def test_archived_lead_without_posting_or_email(fake, api_key, client):
    opp_id = fake.add_opportunity(
        api_key, name="Prince", emails=[], archived={"archivedAt": 1, "reason": "hired"}
    )
    opp = client.get_opportunity(opp_id)
    assert opp.emails == [] and opp.posting_tags == [] and opp.phones == []
    assert opp.archived == {"archivedAt": 1, "reason": "hired"}
    assert len(fake.requests_for(api_key)) == 1  # no posting to read


def test_requests_carry_basic_auth_with_blank_password_and_user_agent(fake, api_key, client):
    client.list_stages()
    entry = fake.requests_for(api_key)[-1]  # the fake identified the account from Basic auth
    assert entry["status"] == 200 and entry["user_agent"] == USER_AGENT
    assert client._http.session.auth == (api_key, "")


def test_list_stages_and_users(fake, api_key, client):
    assert client.list_stages() == [Stage(s["id"], s["text"]) for s in DEFAULT_STAGES]
    assert client.list_users() == [
        User(u["id"], u["name"], u["email"], u["accessRole"]) for u in DEFAULT_USERS
    ]


def test_lists_follow_next_tokens_across_pages(fake, api_key, client):
    fake.max_page_size = 2
    assert [s.id for s in client.list_stages()] == [s["id"] for s in DEFAULT_STAGES]
    stage_requests = [r["path"] for r in fake.requests_for(api_key)]
    assert len(stage_requests) == 4  # 7 stages, 2 per page
    assert "offset=" in stage_requests[1]


def test_create_and_list_notes(fake, api_key, client):
    opp_id = fake.add_opportunity(api_key, name="Ada Lovelace", emails=["ada@example.com"])
    author = DEFAULT_USERS[0]["id"]
    text = "Sterling Backcheck background check\nStatus: New\nReference number: BC-1"

    note_id = client.create_note(opp_id, value=text, secret=True, perform_as=author)

    [stored] = fake.notes(api_key, opp_id)
    assert stored["id"] == note_id
    assert stored["value"] == text and stored["secret"] is True and stored["user"] == author
    post = [r for r in fake.requests_for(api_key) if r["method"] == "POST"][0]
    assert post["path"] == f"/v1/opportunities/{opp_id}/notes?perform_as={author}"
    assert post["status"] == 201

    second = client.create_note(opp_id, value="second")
    [n1, n2] = client.list_notes(opp_id)
    assert n1 == Note(note_id, text, stored["createdAt"])
    assert (
        n2.id == second and n2.text == "second" and fake.notes(api_key, opp_id)[1]["user"] is None
    )
    assert "notifyFollowers" not in fake.notes(api_key, opp_id)[0]


def test_a_note_can_notify_the_candidate_s_followers(fake, api_key, client):
    opp_id = fake.add_opportunity(api_key, name="Ada Lovelace", emails=["ada@example.com"])
    client.create_note(opp_id, value="Status: Completed", notify_followers=True)
    assert fake.notes(api_key, opp_id)[0]["notifyFollowers"] is True


def test_list_notes_reads_every_page(fake, api_key, client):
    opp_id = fake.add_opportunity(api_key, name="Ada", emails=["ada@example.com"])
    for n in range(5):
        client.create_note(opp_id, value=f"note {n}")
    fake.max_page_size = 2
    assert [n.text for n in client.list_notes(opp_id)] == [f"note {n}" for n in range(5)]


def test_create_note_falls_back_to_id_when_lever_returns_the_whole_note(fake, api_key, client):
    fake.note_response_style = "note"
    opp_id = fake.add_opportunity(api_key, name="Ada", emails=["ada@example.com"])
    note_id = client.create_note(opp_id, value="hello")
    assert note_id == fake.notes(api_key, opp_id)[0]["id"]


def test_add_and_remove_tags(fake, api_key, client):
    opp_id = fake.add_opportunity(api_key, name="Ada", emails=["a@example.com"], tags=["x"])
    client.add_tags(opp_id, ["bg-check", "y"])
    assert fake.opportunity(api_key, opp_id)["tags"] == ["x", "bg-check", "y"]
    client.remove_tags(opp_id, ["x", "y", "never-there"])
    assert fake.opportunity(api_key, opp_id)["tags"] == ["bg-check"]
    paths = [(r["method"], r["path"]) for r in fake.requests_for(api_key)]
    assert ("POST", f"/v1/opportunities/{opp_id}/addTags") in paths
    assert ("POST", f"/v1/opportunities/{opp_id}/removeTags") in paths


def test_move_to_stage_is_recorded_like_a_recruiter_s_move(fake, api_key, client):
    opp_id = fake.add_opportunity(api_key, name="Ada", emails=["a@example.com"], stage="lead-new")
    author = DEFAULT_USERS[0]["id"]

    assert client.move_to_stage(opp_id, "offer", perform_as=author) == "offer"

    opp = fake.opportunity(api_key, opp_id)
    assert opp["stage"] == "offer" and opp["lastAdvancedAt"] >= opp["createdAt"]
    assert opp["stageChanges"][-1]["toStageId"] == "offer"
    assert opp["stageChanges"][-1]["userId"] == author
    put = [r for r in fake.requests_for(api_key) if r["method"] == "PUT"][0]
    assert put["path"] == f"/v1/opportunities/{opp_id}/stage?perform_as={author}"
    with pytest.raises(HttpError) as unknown:
        client.move_to_stage(opp_id, "no-such-stage")
    assert unknown.value.status == 400


def test_ids_cannot_escape_their_path_segment(fake, api_key, client):
    with pytest.raises(HttpError) as err:
        client.get_opportunity("../stages?x=1")
    assert err.value.status == 404 and err.value.kind == "permanent"
    assert fake.requests_for(api_key)[-1]["path"].startswith("/v1/opportunities/..%2Fstages%3F")


def test_bad_key_is_a_permanent_401(fake, api_key):
    bad = LeverClient(base_url=fake.base_url, api_key="not-a-real-key-1234", limiter=LocalLimiter())
    with pytest.raises(HttpError) as err:
        bad.list_stages()
    assert (err.value.kind, err.value.status) == ("permanent", 401)
    assert err.value.body == {"code": "UnauthorizedError", "message": "Invalid API key"}
    assert "not-a-real-key-1234" not in str(err.value) + repr(err.value)


def test_unknown_opportunity_is_a_permanent_404_with_lever_error_body(client):
    with pytest.raises(HttpError) as err:
        client.get_opportunity("250d8f03-0000")
    assert (err.value.kind, err.value.status) == ("permanent", 404)
    assert err.value.body["code"] == "ResourceNotFound"


def test_invalid_note_is_a_permanent_400(fake, api_key, client):
    opp_id = fake.add_opportunity(api_key, name="Ada", emails=["a@example.com"])
    with pytest.raises(HttpError) as err:
        client.create_note(opp_id, value="x", perform_as="no-such-user")
    assert (err.value.kind, err.value.status) == ("permanent", 400)
    assert fake.notes(api_key, opp_id) == []


def test_503_twice_then_success_is_retried_to_success(fake, api_key, client):
    fake.inject_fault(status=503, count=2)
    stages = call_with_retries(client.list_stages)
    assert len(stages) == len(DEFAULT_STAGES)
    assert [r["status"] for r in fake.requests if r["path"].startswith("/v1/")] == [503, 503, 200]


def test_503_is_transient(fake, client):
    fake.inject_fault(status=503)
    with pytest.raises(HttpError) as err:
        client.list_stages()
    assert (err.value.kind, err.value.status) == ("transient", 503)


def test_429_with_retry_after_blocks_the_key_until_then(fake, api_key):
    limiter = LocalLimiter()
    lever = LeverClient(base_url=fake.base_url, api_key=api_key, limiter=limiter)
    fake.inject_fault(status=429, retry_after=2)
    started = time.monotonic()
    with pytest.raises(HttpError) as err:
        lever.list_stages()
    assert (err.value.kind, err.value.status, err.value.retry_after_s) == ("transient", 429, 2.0)

    # Another client of the same key (another task) is held back too, without sending.
    other = LeverClient(base_url=fake.base_url, api_key=api_key, limiter=limiter)
    sent_before = len(fake.requests_for(api_key))
    with pytest.raises(RateLimited) as limited:
        other.list_stages()
    assert 1.0 < limited.value.retry_after_s <= 2.0
    assert limited.value.kind == "transient" and limited.value.status is None
    while True:
        try:
            other.list_stages()
            break
        except RateLimited as exc:
            time.sleep(exc.retry_after_s)
    assert time.monotonic() - started >= 2.0
    assert len(fake.requests_for(api_key)) == sent_before + 1
    assert len([r for r in fake.requests if r["path"].startswith("/v1/")]) == 2


def test_429_without_a_wait_header_blocks_with_jittered_exponential_backoff(fake, api_key):
    limiter = LocalLimiter()
    lever = LeverClient(base_url=fake.base_url, api_key=api_key, limiter=limiter)
    fake.inject_fault(status=429, count=2)
    waits = []
    for _ in range(2):
        with pytest.raises(HttpError) as err:
            lever.list_stages()
        waits.append(err.value.retry_after_s)
        assert 0 < limiter.blocked_for(api_key) <= waits[-1]
        limiter._blocked_until.clear()  # skip the wait; the second 429 must double it
    assert 0.5 <= waits[0] <= 1.0
    assert 1.0 <= waits[1] <= 2.0


def test_an_absurd_retry_after_blocks_the_key_for_at_most_five_minutes(fake, api_key):
    limiter = LocalLimiter()
    lever = LeverClient(base_url=fake.base_url, api_key=api_key, limiter=limiter)
    fake.inject_fault(status=429, retry_after=86400)
    with pytest.raises(HttpError) as err:
        lever.list_stages()
    assert err.value.retry_after_s == 300.0
    assert 299 < limiter.blocked_for(api_key) <= 300


def test_fake_rate_limit_429_is_honoured_via_x_ratelimit_reset(fake, api_key):
    fake.set_rate_limit(api_key, rate=1.0, burst=1, retry_after_mode="reset")
    limiter = LocalLimiter()
    lever = LeverClient(base_url=fake.base_url, api_key=api_key, limiter=limiter, burst=5)
    lever.list_stages()
    with pytest.raises(HttpError) as err:
        lever.list_stages()
    assert err.value.status == 429 and 0 < err.value.retry_after_s <= 2
    assert limiter.blocked_for(api_key) > 0


def test_dropped_connection_after_the_request_was_read_is_ambiguous(fake, api_key, client):
    opp_id = fake.add_opportunity(api_key, name="Ada", emails=["a@example.com"])
    fake.inject_fault(drop_after_read=True)
    with pytest.raises(HttpError) as err:
        client.create_note(opp_id, value="hello")
    assert err.value.kind == "ambiguous" and err.value.status is None
    assert fake.notes(api_key, opp_id) == []


def test_note_created_but_answer_lost_is_ambiguous_and_visible_in_list_notes(fake, api_key, client):
    opp_id = fake.add_opportunity(api_key, name="Ada", emails=["a@example.com"])
    fake.inject_fault(drop_after_apply=True, method="POST")
    with pytest.raises(HttpError) as err:
        client.create_note(opp_id, value="Status: New")
    assert err.value.kind == "ambiguous"
    assert [n.text for n in client.list_notes(opp_id)] == ["Status: New"]


def test_hanging_server_is_an_ambiguous_read_timeout(fake, api_key):
    lever = LeverClient(
        base_url=fake.base_url, api_key=api_key, limiter=LocalLimiter(), read_timeout=0.3
    )
    fake.inject_fault(hang=True)
    with pytest.raises(HttpError) as err:
        lever.list_users()
    assert err.value.kind == "ambiguous"
    assert 300 <= err.value.duration_ms < 2000  # our read timeout, not the fake giving up


def test_slow_answer_within_timeout_succeeds(fake, client):
    fake.inject_fault(latency_s=0.2)
    started = time.monotonic()
    assert client.list_users()
    assert time.monotonic() - started >= 0.2


def test_unreachable_host_is_transient(fake, api_key):
    port = fake.port
    fake.stop()
    lever = LeverClient(
        base_url=f"http://127.0.0.1:{port}/v1", api_key=api_key, limiter=LocalLimiter()
    )
    with pytest.raises(HttpError) as err:
        lever.list_stages()
    assert err.value.kind == "transient" and err.value.status is None


def test_own_limiter_refuses_before_sending(fake, api_key):
    lever = LeverClient(
        base_url=fake.base_url, api_key=api_key, rate=1.0, burst=2, limiter=LocalLimiter()
    )
    lever.list_stages()
    lever.list_stages()
    with pytest.raises(RateLimited) as err:
        lever.list_stages()
    assert 0 < err.value.retry_after_s <= 1.0
    assert len(fake.requests_for(api_key)) == 2


def test_rate_limited_survives_pickling_with_its_wait():
    import pickle

    copy = pickle.loads(pickle.dumps(RateLimited(1.25)))
    assert isinstance(copy, RateLimited) and copy.retry_after_s == 1.25 and copy.kind == "transient"


def test_client_repr_and_errors_never_show_the_key(fake, api_key, client):
    assert api_key not in repr(client)
    with pytest.raises(HttpError) as err:
        client.get_opportunity("missing")
    assert api_key not in f"{err.value} {err.value!r} {err.value.body}"


def test_for_tenant_uses_the_stored_key_rates_and_base_url(fake, api_key):
    tenant = TenantFactory.build(
        slug="acme",
        name="Acme",
        no_secrets=True,
        lever_base_url=fake.base_url,
        lever_api_key=Secret(api_key),
        lever_rate_per_s=5.0,
        lever_burst=3,
    )
    lever = LeverClient.for_tenant(tenant, limiter=LocalLimiter())
    assert (lever.base_url, lever.rate, lever.burst) == (fake.base_url, 5.0, 3)
    assert len(lever.list_stages()) == len(DEFAULT_STAGES)


def test_for_tenant_maps_preset_names_and_refuses_a_missing_key():
    tenant = TenantFactory.build(
        no_secrets=True, lever_base_url="eu", lever_api_key=Secret("k" * 20)
    )
    assert LeverClient.for_tenant(tenant).base_url == LEVER_BASE_URL_PRESETS["eu"]
    with pytest.raises(LeverNotConfigured):
        LeverClient.for_tenant(TenantFactory.build(no_secrets=True))


def test_recorded_opportunity_fixture_parses_to_the_fields_we_use():
    from connectors.lever.shapes import parse_opportunity
    from tests.support.lever import load_fixture

    data = load_fixture("opportunity.json")["data"]
    opp = parse_opportunity(data, ["executive-ca"])
    assert opp.name == "José Núñez-O'Brien" and opp.emails == ["jose.nunez@example.com"]
    assert opp.phones == [Phone(None, "+1 416 555 0100")]
    assert opp.stage == "00922a60-7c15-422b-b086-f62000824fd7" and opp.tags == ["Finance"]
    assert opp.stage_changes[-1] == StageChange(
        "00922a60-7c15-422b-b086-f62000824fd7", 1764064800123
    )
    assert opp.show_url.endswith(data["id"]) and opp.posting_tags == ["executive-ca"]
    expanded = parse_opportunity({**data, "stage": {"id": "offer", "text": "Offer"}}, [])
    assert expanded.stage == "offer"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"archived": None}, None),
        ({"archived": None, "archivedAt": None, "archiveReason": None}, None),
        ({"archived": {"archivedAt": 5, "reason": "r1"}}, {"archivedAt": 5, "reason": "r1"}),
        ({"archived": {}}, {"archivedAt": None, "reason": None}),
        ({"archivedAt": 7, "archiveReason": "r2"}, {"archivedAt": 7, "reason": "r2"}),
        ({"archived": None, "archivedAt": 7}, {"archivedAt": 7, "reason": None}),
    ],
    ids=["object-null", "all-null", "object", "empty-object", "top-level", "top-level-no-reason"],
)
def test_archived_is_read_from_the_object_or_the_top_level_fields(raw, expected):
    from connectors.lever.shapes import parse_opportunity

    assert parse_opportunity({"id": "opp-1", **raw}, []).archived == expected


def test_the_fake_serves_top_level_archived_fields_when_asked(fake, client):
    key = "lvr-top-level-0123456789abcdef"
    fake.add_account(key, archived_shape="top-level")
    opp_id = fake.add_opportunity(
        key, name="Prince", emails=[], archived={"archivedAt": 9, "reason": "hired"}
    )
    with LeverClient(base_url=fake.base_url, api_key=key, limiter=LocalLimiter()) as lever:
        opp = lever.get_opportunity(opp_id)
    assert opp.archived == {"archivedAt": 9, "reason": "hired"}


def test_deleted_opportunities_are_read_page_by_page_from_a_time(fake, api_key, client):
    kept = fake.add_opportunity(api_key, name="Kept", emails=["k@example.com"])
    gone = [fake.add_opportunity(api_key, name=f"Gone {i}", emails=[]) for i in range(3)]
    for opp in gone:
        fake.delete_opportunity(api_key, opp)
    with pytest.raises(HttpError) as missing:
        client.get_opportunity(gone[0])
    assert missing.value.status == 404
    assert client.get_opportunity(kept).id == kept

    fake.max_page_size = 2
    first = client.deleted_opportunities_page(deleted_since_ms=None)
    assert [d.id for d in first.items] == gone[:2] and first.next
    assert all(isinstance(d.deleted_at, int) for d in first.items)
    second = client.deleted_opportunities_page(deleted_since_ms=None, offset=first.next)
    assert [d.id for d in second.items] == gone[2:] and second.next is None

    later = fake.accounts[api_key]["deleted"][-1]["deletedAt"] + 1
    assert client.deleted_opportunities_page(deleted_since_ms=later).items == []
    paths = [r["path"] for r in fake.requests_for(api_key) if "deleted" in r["path"]]
    assert f"deleted_at_start={later}" in paths[-1] and "limit=100" in paths[-1]


def test_a_key_without_the_deleted_list_permission_gets_a_403(fake, client, api_key):
    fake.accounts[api_key]["forbidden"] = [forbidden_rule("GET /opportunities/deleted")]
    with pytest.raises(HttpError) as refused:
        client.deleted_opportunities_page(deleted_since_ms=None)
    assert refused.value.status == 403
