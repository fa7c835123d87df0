"""Write the git-ignored `.env` for the local demo on first run; never overwrite it.

Debug on, outbound calls to 127.0.0.1 allowed (the fakes live there), a generated Django secret
key, a generated field-encryption key and a generated password for the demo super-admin. Standard library only: this runs before Django can start.
"""

from __future__ import annotations

import base64
import os
import secrets
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def demo_lines() -> list[str]:
    """Settings of the demo tenant on the fake servers (credentials made up here, never real)."""
    return [
        # The fake Lever and Backcheck listen on 127.0.0.1, which production refuses to call.
        "OUTBOUND_ALLOW_PRIVATE_NETWORKS=true",
        f"DEMO_LEVER_API_KEY=demo-lever-key-{secrets.token_hex(16)}",
        f"DEMO_SIGNATURE_TOKEN=demo-signature-{secrets.token_hex(16)}",
    ]


def main() -> int:
    target = Path(os.environ.get("PORTAL_ENV_FILE", ROOT / ".env"))
    if target.exists():
        # An .env from before the demo tenant existed: add only what is missing.
        text = target.read_text()
        missing = [line for line in demo_lines() if line.split("=", 1)[0] + "=" not in text]
        if missing:
            target.write_text(text.rstrip("\n") + "\n" + "\n".join(missing) + "\n")
        return 0
    key = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
    lines = [
        "# Written by `make run` for the local demo. Not for production (see .env.example).",
        "DJANGO_DEBUG=true",
        f"DJANGO_SECRET_KEY={secrets.token_urlsafe(50)}",
        f"FIELD_ENCRYPTION_KEYS=demo-1:{key}",
        f"CALLBACK_HMAC_KEY={secrets.token_urlsafe(32)}",
        "PUBLIC_BASE_URL=http://127.0.0.1:8000",
        # The portal's mails are printed in the web and worker logs.
        "EMAIL_URL=consolemail://",
        f"DEMO_ADMIN_PASSWORD={secrets.token_urlsafe(12)}",
        *demo_lines(),
        "",
    ]
    target.write_text("\n".join(lines))
    target.chmod(0o600)
    print(f"wrote {target} (demo settings, git-ignored)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
