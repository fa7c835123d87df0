"""Keep secret values out of log output.

Every secret the process decrypts is registered here; the logging filter replaces any registered
value found in a record with its masked form. This is the net under the rule that code never
formats a secret into a message in the first place.

A registered value is never forgotten, and finding them costs the same however many there are:
each string is searched by an Aho-Corasick automaton (pyahocorasick) keyed by the first `_KEY_LEN`
characters of every value, and a key found is confirmed against the full values. The automata are
immutable once published; registering (rare: once per new secret in a process) builds new ones
under a lock and swaps a single reference, so `redact` takes no lock.

Registration stays cheap when many secrets arrive in a row (a worker meeting thousands of
tenants, `rotate_encryption_keys`): the last few values are scanned directly, a middle automaton
is rebuilt every `_RECENT_MAX` registrations, and the settled automaton only when the middle one
has grown to a sixteenth of it. Once registrations pause for `_SETTLE_S`, a background thread folds
everything into the settled automaton, so a log line is searched by one automaton in the steady
state, and by at most two plus `_RECENT_MAX` substring checks meanwhile (bench/redaction.py).
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from typing import NamedTuple

import ahocorasick

MASK = "••••"
_MIN_LEN = 6  # shorter values would redact ordinary words; real keys are far longer
_KEY_LEN = 8  # automaton keys: long enough to be rare in ordinary text, short enough to be cheap
_RECENT_MAX = 32  # values scanned directly before they go into the middle automaton
_SETTLE_S = 1.0  # quiet time after the last registration before everything is folded together
# The settled automaton is rebuilt (all values) once the middle one holds 1/_MIDDLE_RATIO as many:
# rarer full rebuilds against more frequent middle ones; 16 costs least for 10,000-100,000.
_MIDDLE_RATIO = 16
_AUTH_HEADER = re.compile(
    r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?(?:basic|bearer)\s+)[A-Za-z0-9+/=._~-]+"
)


# Secrets that travel in URL paths: a live intake token (/intake/<token>/, never /intake/manage/)
# and a tenant's unguessable webhook id. Anyone who reads a log line with one could use it.
_URL_SECRETS = re.compile(
    r"(/intake/)(?!manage/)([A-Za-z0-9_-]{20,128})|(/webhooks/lever/)([^/?#\s\"']+)"
)


def mask_url_secrets(text: str) -> str:
    """Mask intake tokens and webhook ids in a request line, path or URL (a Referer)."""
    if not text or ("/intake/" not in text and "/webhooks/lever/" not in text):
        return text  # the common case, without running the pattern

    def repl(match: re.Match) -> str:
        if match.group(1):
            return match.group(1) + mask(match.group(2))
        return match.group(3) + mask(match.group(4))

    return _URL_SECRETS.sub(repl, text)


def mask(value: str | None) -> str:
    """`••••` plus the last four characters, the one form a secret is ever shown in."""
    if not value:
        return ""
    return MASK + value[-4:] if len(value) > 8 else MASK


class _Index(NamedTuple):
    """One published, never-mutated snapshot of every registered value."""

    settled: ahocorasick.Automaton | None
    settled_size: int
    middle: ahocorasick.Automaton | None
    middle_values: tuple[str, ...]
    recent: tuple[str, ...]


def _build(values: Iterable[str]) -> ahocorasick.Automaton | None:
    by_key: dict[str, list[str]] = defaultdict(list)
    for value in values:
        by_key[value[:_KEY_LEN]].append(value)
    if not by_key:
        return None
    automaton = ahocorasick.Automaton()
    for key, full in by_key.items():
        automaton.add_word(key, (len(key), tuple(full)))
    automaton.make_automaton()
    return automaton


_lock = threading.Lock()  # serialises registrations and compaction, never `redact`
_known: set[str] = set()  # every value ever registered; only grows
_index = _Index(None, 0, None, (), ())
_last_registered = 0.0
_compacting = False  # a compactor thread is running (read and written under _lock)


def register_secret(value: str | None) -> None:
    global _index, _last_registered
    if not value or len(value) < _MIN_LEN or value in _known:
        return  # the common case (a secret decrypted again) takes no lock
    with _lock:
        if value in _known:
            return
        _known.add(value)
        _last_registered = time.monotonic()
        old = _index
        recent = (*old.recent, value)
        if len(recent) < _RECENT_MAX:
            _index = old._replace(recent=recent)
        else:
            middle_values = old.middle_values + recent
            if len(middle_values) * _MIDDLE_RATIO < max(old.settled_size, _RECENT_MAX * 32):
                _index = old._replace(
                    middle=_build(middle_values), middle_values=middle_values, recent=()
                )
            else:
                _index = _Index(_build(_known), len(_known), None, (), ())
        _start_compactor()


def compact() -> None:
    """Fold every registered value into the settled automaton (one search per string)."""
    global _index
    with _lock:
        if _index.middle is not None or _index.recent:
            _index = _Index(_build(_known), len(_known), None, (), ())


def _start_compactor() -> None:
    """Under _lock."""
    global _compacting
    if not _compacting:
        _compacting = True
        threading.Thread(target=_compact_when_quiet, name="redaction", daemon=True).start()


def _compact_when_quiet() -> None:
    global _compacting
    while True:
        quiet_for = time.monotonic() - _last_registered
        if quiet_for < _SETTLE_S:
            time.sleep(_SETTLE_S - quiet_for)
            continue
        compact()
        with _lock:
            # Done only when nothing is left unfolded: a value registered after compact() took
            # its snapshot (and a stall since then long enough to look "quiet") waits another turn.
            if _index.middle is None and not _index.recent:
                _compacting = False
                return


def _after_fork_in_child() -> None:
    # A forked pool process inherits the registry but not the thread, and perhaps a held lock.
    global _lock, _compacting
    _lock = threading.Lock()
    _compacting = False
    if _index.middle is not None or _index.recent:
        with _lock:
            _start_compactor()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _found(text: str) -> set[str]:
    index = _index  # one read: a registration may publish a new snapshot meanwhile
    found = {value for value in index.recent if value in text} if index.recent else set()
    for automaton in (index.settled, index.middle):
        if automaton is not None:
            for end, (key_len, values) in automaton.iter(text):
                start = end - key_len + 1
                found.update(value for value in values if text.startswith(value, start))
    return found


def redact(text: str) -> str:
    if len(text) >= _MIN_LEN:
        found = _found(text)
        if found:
            for value in sorted(found, key=len, reverse=True):
                text = text.replace(value, mask(value))
        if "authoriz" in text.lower():
            text = _AUTH_HEADER.sub(r"\1" + MASK, text)
    return mask_url_secrets(text)


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        # The message is formatted once: the formatter reads it back without the arguments.
        record.msg, record.args = cleaned, None
        # The JSON formatter need not search the message and exception a second time.
        record._secrets_redacted = True
        return True
