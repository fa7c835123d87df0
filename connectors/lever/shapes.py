"""What Lever's Data API answers, as typed objects, and the parsing of its JSON into them.

Parsing follows docs/LEVER.md (Responses, errors, pagination): a field that is missing, null or
of another type than expected is read as absent rather than failing the whole answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Phone:
    type: str | None
    value: str


@dataclass(frozen=True)
class StageChange:
    to_stage_id: str
    updated_at: int  # epoch ms


@dataclass(frozen=True)
class Opportunity:
    id: str
    name: str
    emails: list[str]
    phones: list[Phone]
    contact: str | None
    stage: str | None
    # {"archivedAt": ms | None, "reason": archive reason id | None} when archived, else None.
    archived: dict[str, Any] | None
    tags: list[str]
    posting_tags: list[str]
    stage_changes: list[StageChange]
    show_url: str | None
    # Lever refused (403) to let this key read the opportunity's job postings, so
    # `posting_tags` is incomplete: package resolution must not fall through to the default.
    postings_forbidden: bool = False


@dataclass(frozen=True)
class DeletedOpportunity:
    id: str
    deleted_at: int | None  # epoch ms


@dataclass(frozen=True)
class DeletedPage:
    items: list[DeletedOpportunity]
    next: str | None  # Lever's `next` token, for `offset`; None on the last page


@dataclass(frozen=True)
class Stage:
    id: str
    text: str


@dataclass(frozen=True)
class User:
    id: str
    name: str
    email: str | None
    access_role: str | None


@dataclass(frozen=True)
class Note:
    id: str
    text: str  # the note's value, as posted
    created_at: int | None


def str_list(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, str) and item]


def int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _archived(data: dict[str, Any]) -> dict[str, Any] | None:
    """Archived state in either of the reference's shapes, as {"archivedAt", "reason"}.

    Lever's field list describes an `archived` object ({"archivedAt", "reason"}), but its
    opportunity example carries top-level `archivedAt` / `archiveReason` instead; either one,
    when not null, means archived.
    """
    archived = data.get("archived")
    if isinstance(archived, dict):
        return {"archivedAt": archived.get("archivedAt"), "reason": archived.get("reason")}
    if archived not in (None, False):
        return {"archivedAt": None, "reason": None}
    if data.get("archivedAt") is not None:
        return {"archivedAt": data.get("archivedAt"), "reason": data.get("archiveReason")}
    return None


def parse_opportunity(data: dict[str, Any], posting_tags: list[str]) -> Opportunity:
    phones = [
        Phone(type=p.get("type") if isinstance(p.get("type"), str) else None, value=p["value"])
        for p in data.get("phones") or []
        if isinstance(p, dict) and isinstance(p.get("value"), str) and p["value"].strip()
    ]
    changes = [
        StageChange(to_stage_id=c["toStageId"], updated_at=int_or_none(c.get("updatedAt")) or 0)
        for c in data.get("stageChanges") or []
        if isinstance(c, dict) and isinstance(c.get("toStageId"), str)
    ]
    stage = data.get("stage")
    if isinstance(stage, dict):  # `expand=stage` inlines {"id", "text"}
        stage = stage.get("id")
    urls = data.get("urls")
    if not isinstance(urls, dict):
        urls = {}
    return Opportunity(
        id=str(data["id"]),
        name=str(data.get("name") or ""),
        emails=str_list(data.get("emails")),
        phones=phones,
        contact=data.get("contact") if isinstance(data.get("contact"), str) else None,
        stage=stage if isinstance(stage, str) else None,
        archived=_archived(data),
        tags=str_list(data.get("tags")),
        posting_tags=posting_tags,
        stage_changes=changes,
        show_url=urls.get("show") if isinstance(urls.get("show"), str) else None,
    )


def parse_note(item: dict[str, Any]) -> Note:
    text: str | None = None
    for f in item.get("fields") or []:
        if isinstance(f, dict) and f.get("type") == "note" and isinstance(f.get("value"), str):
            text = f["value"]
            break
    if text is None:
        plain = item.get("text")
        text = plain if isinstance(plain, str) else ""
    return Note(id=str(item["id"]), text=text, created_at=int_or_none(item.get("createdAt")))
