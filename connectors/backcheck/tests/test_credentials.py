import base64

import pytest

from connectors.backcheck.credentials import (
    generate_callback_credentials,
    hash_callback_password,
    parse_basic_auth,
    verify_callback_credentials,
    verify_callback_password,
)


def _basic(value: str) -> str:
    return "Basic " + base64.b64encode(value.encode()).decode()


def test_generated_credentials_are_random_256_bit_urlsafe_strings() -> None:
    username, password = generate_callback_credentials()
    other_username, other_password = generate_callback_credentials()
    for value in (username, password):
        assert len(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))) == 32
        assert set(value) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert len({username, password, other_username, other_password}) == 4


def test_credentials_verify_only_for_their_own_order() -> None:
    first_user, first_password = generate_callback_credentials()
    second_user, second_password = generate_callback_credentials()
    first_hash = hash_callback_password(first_password)
    second_hash = hash_callback_password(second_password)

    assert verify_callback_password(first_password, first_hash)
    assert verify_callback_password(second_password, second_hash)
    assert not verify_callback_password(second_password, first_hash)
    assert not verify_callback_password(first_password, second_hash)
    assert not verify_callback_password("", first_hash)

    assert verify_callback_credentials(
        username=first_user,
        password=first_password,
        stored_username=first_user,
        stored_hash=first_hash,
    )
    assert not verify_callback_credentials(
        username=second_user,
        password=first_password,
        stored_username=first_user,
        stored_hash=first_hash,
    )
    assert not verify_callback_credentials(
        username=second_user,
        password=second_password,
        stored_username=first_user,
        stored_hash=first_hash,
    )


def test_stored_hash_contains_neither_username_nor_password() -> None:
    username, password = generate_callback_credentials()
    stored = hash_callback_password(password)
    assert len(stored) == 64 and int(stored, 16) >= 0
    assert password not in stored and username not in stored
    assert stored != hash_callback_password(username)


def test_hash_depends_on_the_server_key(settings) -> None:
    _, password = generate_callback_credentials()
    before = hash_callback_password(password)
    settings.CALLBACK_HMAC_KEY = "another-server-key-for-this-test"
    assert hash_callback_password(password) != before
    assert not verify_callback_password(password, before)


def test_parse_basic_auth_reads_username_and_password() -> None:
    assert parse_basic_auth(_basic("user:pa:ss")) == ("user", "pa:ss")
    assert parse_basic_auth("basic " + _basic("user:").split()[1]) == ("user", "")


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Basic",
        "Basic ",
        "Bearer abc.def",
        "Basic not*base64!",
        _basic("no-colon-here"),
        _basic(":password-without-user"),
        "Basic " + base64.b64encode(b"\xff\xfe:x").decode(),
    ],
)
def test_parse_basic_auth_returns_none_for_missing_or_malformed(header: str | None) -> None:
    assert parse_basic_auth(header) is None
