"""From a Lever opportunity to a Backcheck candidate (docs/CONTRACT.md §6).

Lever keeps one free-text `name` per candidate (docs/LEVER.md); Backcheck wants a given and a family
name, so the split is a fixed rule the recruiter can predict, not a guess per culture.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Lowercase only: "Van Halen" is a given name followed by a family name, "van Halen" is a family
# name with its particle (docs/CONTRACT.md §6).
NAME_PARTICLES = frozenset({"van", "von", "de", "der", "da", "di", "du", "le", "la", "del", "dos"})


class MissingEmail(Exception):
    """The opportunity has no email address: Backcheck cannot invite the candidate.

    The caller turns this into a Lever Error note (docs/CONTRACT.md §3), never into an order.
    """


@dataclass(frozen=True)
class Candidate:
    given_name: str
    family_name: str
    email: str
    phone: str | None

    def as_api(self) -> dict[str, str | None]:
        """The `candidate` object of `POST /screenings`."""
        return {
            "givenName": self.given_name,
            "familyName": self.family_name,
            "email": self.email,
            "phone": self.phone,
        }


def split_name(name: str) -> tuple[str, str]:
    """`(given name, family name)`: the family name starts at the first lowercase particle, else it
    is the last word; one word is a family name with an empty given name."""
    words = name.split()
    if not words:
        return "", ""
    for index, word in enumerate(words):
        if word in NAME_PARTICLES:
            return " ".join(words[:index]), " ".join(words[index:])
    return " ".join(words[:-1]), words[-1]


def _first_text(values: Any) -> str | None:
    for value in values or ():
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def candidate_from_opportunity(opportunity: Any) -> Candidate:
    """The candidate Backcheck screens: split name, first email, first phone.

    `opportunity` is duck-typed: `.name`, `.emails` (strings) and `.phones` (objects with
    `.value`), as the Lever client returns them. Blank entries are skipped so a stray empty string
    in Lever does not become the address the invitation goes to.
    """
    email = _first_text(getattr(opportunity, "emails", None))
    if email is None:
        raise MissingEmail("The candidate has no email address in Lever.")
    phones = [getattr(phone, "value", None) for phone in getattr(opportunity, "phones", None) or ()]
    given_name, family_name = split_name(getattr(opportunity, "name", None) or "")
    return Candidate(
        given_name=given_name,
        family_name=family_name,
        email=email,
        phone=_first_text(phones),
    )
