"""Settings for the test suite: the real settings, with test-only secrets filled in.

A developer's `.env` is never read here, so the suite behaves the same on every machine.
Services come from the environment exactly as in production: CI sets DATABASE_URL and REDIS_URL;
without them the suite runs on SQLite and the filesystem broker and skips what needs more.
"""

import os
import tempfile

os.environ.setdefault("PORTAL_ENV_FILE", os.devnull)
os.environ.setdefault("PORTAL_TESTING", "1")
os.environ.setdefault(
    "DJANGO_SECRET_KEY", "test-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"
)
os.environ.setdefault("CALLBACK_HMAC_KEY", "test-only-callback-hmac-key-0123456789abcdef")
# One test key; tests of rotation build their own keyrings.
os.environ.setdefault(
    "FIELD_ENCRYPTION_KEYS",
    "test-k1:dGVzdC1rZXktMS0wMTIzNDU2Nzg5YWJjZGVmMDEyMzQ",
)
# The fake Lever and Backcheck servers listen on 127.0.0.1.
os.environ.setdefault("OUTBOUND_ALLOW_PRIVATE_NETWORKS", "true")
os.environ.setdefault("METRICS_TOKEN", "test-only-metrics-token-0123456789")
os.environ.setdefault(
    "CELERY_BROKER_DIR", os.path.join(tempfile.gettempdir(), "portal-test-broker")
)

from integration_portal.settings import *  # noqa: E402,F403

# Fast hashing: the tests create many users; production keeps Django's default hasher.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SECURE_SSL_REDIRECT = False
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Each test run gets its own cache namespace, so that conftest can clear what a test left behind
# (login throttles, rate-limit counters) without touching other runs or the broker's keys.
for _cache in CACHES.values():  # noqa: F405
    _cache["KEY_PREFIX"] = f"test-{os.getpid()}"

# Most tests sign in with force_login and no authenticator; the tests of two-factor sign-in (and
# the browser tests, which sign in with a code) turn the requirement back on.
TWO_FACTOR_REQUIRED_FOR_SUPER_ADMINS = False
