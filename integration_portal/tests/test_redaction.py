"""The secret registry behind log redaction: never forgets, one search per string, no lock to read."""

from __future__ import annotations

import io
import json
import logging
import secrets
import threading
import time

import pytest

from integration_portal import redaction
from integration_portal.logging import JsonFormatter
from integration_portal.redaction import compact, mask, redact, register_secret


def test_no_registered_secret_is_ever_forgotten():
    first = "first-" + secrets.token_urlsafe(24)
    register_secret(first)
    values = [secrets.token_urlsafe(24) for _ in range(20_000)]
    for value in values:
        register_secret(value)
    last = values[-1]
    for value in (first, values[0], values[9_999], last):
        assert redact(f"calling Lever with {value}.") == f"calling Lever with {mask(value)}."
    compact()
    assert redaction._index.middle is None and not redaction._index.recent
    assert redact(f"key={first}") == f"key={mask(first)}"
    assert redact(f"key={last}") == f"key={mask(last)}"


def test_values_sharing_a_key_prefix_are_each_confirmed_in_full():
    stem = "shared-prefix-" + secrets.token_hex(4)
    short, long = stem + "-a", stem + "-a-longer"
    register_secret(short)
    register_secret(long)
    compact()
    assert redact(f"{long} and {short}") == f"{mask(long)} and {mask(short)}"
    # The key (first characters) alone is not a secret.
    assert redact(stem[:10] + " only") == stem[:10] + " only"


def test_redaction_takes_no_lock():
    secret = "lockless-" + secrets.token_hex(12)
    register_secret(secret)
    result: list[str] = []
    with redaction._lock:  # a registration in progress in another thread
        reader = threading.Thread(target=lambda: result.append(redact(f"x {secret} y")))
        reader.start()
        reader.join(timeout=5)
        assert not reader.is_alive(), "redact waited for the registration lock"
    assert result == [f"x {mask(secret)} y"]


def test_registrations_are_folded_into_one_automaton_once_they_pause(monkeypatch):
    monkeypatch.setattr(redaction, "_SETTLE_S", 0.05)
    compact()
    secret = "settling-" + secrets.token_hex(12)
    register_secret(secret)
    assert secret in redaction._index.recent
    deadline = time.monotonic() + 5
    while redaction._index.recent and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not redaction._index.recent and redaction._index.middle is None
    assert redact(secret) == mask(secret)


def test_a_value_registered_while_the_compactor_folds_is_folded_too(monkeypatch):
    monkeypatch.setattr(redaction, "_SETTLE_S", 0.05)
    deadline = time.monotonic() + 5
    while redaction._compacting and time.monotonic() < deadline:  # an earlier test's compactor
        time.sleep(0.01)
    real_compact, late = redaction.compact, "late-" + secrets.token_hex(12)

    def compact_then_a_registration_lands():
        real_compact()
        if late not in redaction._known:
            register_secret(late)  # after the fold's snapshot, before the compactor's last look
            time.sleep(0.1)  # and the compactor stalls past the settle time

    monkeypatch.setattr(redaction, "compact", compact_then_a_registration_lands)
    register_secret("first-" + secrets.token_hex(12))  # starts the compactor
    deadline = time.monotonic() + 5
    while (redaction._index.recent or redaction._compacting) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not redaction._index.recent and redaction._index.middle is None
    assert redact(late) == mask(late)


def test_short_values_are_not_registered():
    register_secret("abc12")
    assert redact("abc12 is an ordinary word") == "abc12 is an ordinary word"


@pytest.mark.parametrize("with_filter", [True, False])
def test_the_json_formatter_masks_the_message_and_exception_with_or_without_the_filter(
    with_filter,
):
    secret = "formatter-" + secrets.token_hex(12)
    register_secret(secret)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    if with_filter:
        handler.addFilter(redaction.RedactSecretsFilter())
    logger = logging.getLogger(f"test.redaction.{with_filter}")
    logger.handlers, logger.propagate = [handler], False
    try:
        raise ValueError(f"refused {secret}")
    except ValueError:
        logger.exception("sent %s", secret, extra={"key": secret}, stack_info=True)
    assert secret not in stream.getvalue()
    entry = json.loads(stream.getvalue())
    assert entry["message"] == f"sent {mask(secret)}"
    assert entry["key"] == mask(secret)
    assert f"ValueError: refused {mask(secret)}" in entry["exception"]
    assert list(entry)[:4] == ["time", "level", "logger", "message"]
    assert list(entry)[-2:] == ["exception", "stack"]
