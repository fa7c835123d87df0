"""The pure readers of Lever's answers (connectors/lever_interpret.py)."""

from __future__ import annotations

import pytest

from connectors.lever_interpret import note_text_key, same_note_text


@pytest.mark.parametrize(
    ("stored", "ours"),
    [
        ("a\r\nb", "a\nb"),
        ("a\rb", "a\nb"),
        ("  a \t b\n\n\n", "a b"),
        ("<p>Status: New</p><p>Reference number: 1</p>", "Status: New\n\nReference number: 1"),
        ("Status: New<br/>Package: A &amp; B", "Status: New\nPackage: A & B"),
    ],
)
def test_text_lever_may_have_normalised_compares_equal(stored, ours):
    assert same_note_text(stored, ours)


@pytest.mark.parametrize(
    ("stored", "ours"),
    [
        ("Status: Completed\nScore: Green", "Status: Completed\nScore: Red"),
        ("Error: value < 5 and > 2", "Error: value 5 and 2"),
    ],
)
def test_different_words_never_compare_equal(stored, ours):
    assert not same_note_text(stored, ours)


def test_a_lone_angle_bracket_is_text_not_markup():
    assert note_text_key("Error: age < 18 > 0") == "Error: age < 18 > 0"
