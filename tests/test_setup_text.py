"""The customer set-up text an account manager reads in the README follows the integration guide."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_readme_sends_a_super_admin_to_the_sterling_backcheck_card_for_the_key():
    readme = (ROOT / "README.md").read_text()
    setup = readme[readme.index("### In the browser") : readme.index("### On the command line")]
    assert "**Super Admin**" in setup
    assert "*Background and reference checks*" in setup and "**Sterling Backcheck**" in setup
    assert "**Generate\n     new key**" in setup or "**Generate new key**" in setup
    assert "Lever sets the key's permissions" in setup and "only once" in setup
    assert "Generate New Key" not in readme
