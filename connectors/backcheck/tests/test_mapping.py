from dataclasses import dataclass, field

import pytest

from connectors.backcheck.mapping import (
    Candidate,
    MissingEmail,
    candidate_from_opportunity,
    split_name,
)


@pytest.mark.parametrize(
    ("name", "given", "family"),
    [
        # docs/CONTRACT.md §6, verbatim.
        ("Ada Lovelace", "Ada", "Lovelace"),
        ("José Núñez-O'Brien", "José", "Núñez-O'Brien"),
        ("Mary Ann van der Berg", "Mary Ann", "van der Berg"),
        ("Prince", "", "Prince"),
        ("  extra   spaces  ", "extra", "spaces"),
    ],
)
def test_name_split_follows_the_design_table(name: str, given: str, family: str) -> None:
    assert split_name(name) == (given, family)


@pytest.mark.parametrize(
    ("name", "given", "family"),
    [
        ("Maria da Silva dos Santos", "Maria", "da Silva dos Santos"),
        ("Ludwig von Beethoven", "Ludwig", "von Beethoven"),
        ("Van Morrison", "Van", "Morrison"),  # capitalised: a given name, not a particle
        ("Anne\tMarie\nDu Pont", "Anne Marie Du", "Pont"),
        ("de la Cruz", "", "de la Cruz"),
        ("   ", "", ""),
    ],
)
def test_name_split_edge_cases(name: str, given: str, family: str) -> None:
    assert split_name(name) == (given, family)


@dataclass
class Phone:
    value: str
    type: str | None = None


@dataclass
class Opportunity:
    name: str
    emails: list[str] = field(default_factory=list)
    phones: list[Phone] = field(default_factory=list)


def test_candidate_takes_the_first_email_and_first_phone() -> None:
    opportunity = Opportunity(
        name="Mary Ann van der Berg",
        emails=["mary@example.com", "other@example.com"],
        phones=[Phone("+1 416 555 0100"), Phone("+1 416 555 0199")],
    )
    assert candidate_from_opportunity(opportunity) == Candidate(
        given_name="Mary Ann",
        family_name="van der Berg",
        email="mary@example.com",
        phone="+1 416 555 0100",
    )


def test_candidate_without_a_phone_has_none() -> None:
    candidate = candidate_from_opportunity(Opportunity(name="Prince", emails=["p@example.com"]))
    assert candidate.phone is None
    assert candidate.as_api() == {
        "givenName": "",
        "familyName": "Prince",
        "email": "p@example.com",
        "phone": None,
    }


def test_blank_emails_are_skipped() -> None:
    opportunity = Opportunity(name="Ada Lovelace", emails=["  ", "ada@example.com"])
    assert candidate_from_opportunity(opportunity).email == "ada@example.com"


@pytest.mark.parametrize("emails", [[], [""], ["   "]])
def test_candidate_without_an_email_raises_missing_email(emails: list[str]) -> None:
    with pytest.raises(MissingEmail):
        candidate_from_opportunity(Opportunity(name="Ada Lovelace", emails=emails))
