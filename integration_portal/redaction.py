"""Keep secret values out of log output.

Every secret the process decrypts is registered here (a bounded set of values); the logging
filter replaces any registered value found in a record with its masked form. This is the net
under the rule that code never formats a secret into a message in the first place.
"""

from __future__ import annotations

import logging
import re
import threading

MASK = "••••"
_MIN_LEN = 6  # shorter values would redact ordinary words; real keys are far longer
_MAX_TRACKED = 10_000
_lock = threading.Lock()
_known: dict[str, None] = {}  # insertion-ordered set
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
    if not text or "/" not in text:
        return text

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


def register_secret(value: str | None) -> None:
    if not value or len(value) < _MIN_LEN:
        return
    with _lock:
        if value in _known:
            return
        _known[value] = None
        if len(_known) > _MAX_TRACKED:
            _known.pop(next(iter(_known)))


def redact(text: str) -> str:
    with _lock:
        values = [v for v in _known if v in text]
    for value in sorted(values, key=len, reverse=True):
        text = text.replace(value, mask(value))
    return mask_url_secrets(_AUTH_HEADER.sub(r"\1" + MASK, text))


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
