"""Per-tenant Lever extras, each off by default: status tags, auto-advance, notifyFollowers.

What peers' integrations offer a recruiter on top of notes. The rules that keep them safe are
checked when a tenant or a package is saved:
- auto-advance may not move a candidate into a trigger stage (that would order again);
- a status tag may not be a package's Lever tag (tagging would pick that package next time).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError

EXTRA_SETTINGS = {
    "status_tag_prefix": "status tag prefix",
    "advance_stage_id": "auto-advance stage",
    "advance_only_green": "auto-advance only on Green",
    "notify_followers": "notify followers",
}


def _base(prefix: str) -> str:
    return prefix.strip().rstrip(":").strip()


def status_tag(prefix: str, status: str) -> str:
    """The tag an order in Lever status `status` carries: "BGC" or "BGC:" → "BGC: In Progress"."""
    return f"{_base(prefix)}: {status}"


def _clash(prefix: str, tag: str) -> bool:
    # Every status tag starts with "<prefix>:"; Lever tags compare case-insensitively here.
    base = _base(prefix)
    return bool(base) and tag.strip().casefold().startswith(f"{base}:".casefold())


def clean_status_tag_prefix(value: object) -> str:
    prefix = str(value or "").strip()
    if len(prefix) > 50 or any(ch in prefix for ch in "\r\n"):
        raise ValidationError(
            {"status_tag_prefix": "The status tag prefix is one line of at most 50 characters."}
        )
    return prefix


def check_extras(
    *,
    prefix: str,
    advance_stage_id: str,
    trigger_stage_ids: Iterable[str],
    package_tags: Iterable[str],
) -> None:
    """Raise ValidationError when the extras would order again or pick a package by accident."""
    if advance_stage_id and advance_stage_id in set(trigger_stage_ids):
        raise ValidationError(
            {
                "advance_stage_id": "The auto-advance stage is a trigger stage: moving a "
                "candidate there would order another check."
            }
        )
    clashing = [tag for tag in package_tags if tag and _clash(prefix, tag)]
    if clashing:
        raise ValidationError(
            {
                "status_tag_prefix": f"Status tags would start with {_base(prefix) + ':'!r} like the "
                f"package tag {clashing[0]!r}: tagging a candidate would select that package."
            }
        )


def check_package_tag(*, prefix: str, tag: str) -> None:
    if _clash(prefix, tag):
        raise ValidationError(
            {
                "lever_tag": f"The tag {tag!r} starts like this tenant's status tags "
                f"({_base(prefix) + ':'!r}): choose another tag or change the status tag prefix."
            }
        )
