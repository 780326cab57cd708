"""core.names: the keys that join driver spellings across sources, and surnames for display."""

from __future__ import annotations

import pytest

from core.names import driver_key, normalise_name, surname


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("A.J. Allmendinger", "AJ Allmendinger"),
        ("Ricky Stenhouse Jr.", "Ricky Stenhouse Jr"),
        ("Ricky Stenhouse Jr.", "Ricky Stenhouse"),
        ("Daniel Suárez", "Daniel Suarez"),
        ("Shane van Gisbergen", "Shane Van Gisbergen"),
        ("John  Hunter-Nemechek", "John Hunter Nemechek"),
    ],
)
def test_normalise_name_joins_real_spellings(one: str, other: str) -> None:
    assert normalise_name(one) == normalise_name(other)


def test_normalise_name_output() -> None:
    assert normalise_name("  A.J.  Allmendinger ") == "aj allmendinger"
    assert normalise_name("Daniel Suárez") == "daniel suarez"
    assert normalise_name("Dale Earnhardt Jr.") == "dale earnhardt"
    assert normalise_name("Kyle Busch") != normalise_name("Kurt Busch")


@pytest.mark.parametrize(
    ("results_spelling", "other_spelling"),
    [
        ("A.J. Allmendinger", "AJ Allmendinger"),
        ("Ricky Stenhouse Jr.", "Ricky Stenhouse Jr"),
        ("Shane van Gisbergen", "Shane Van Gisbergen"),
        ("Daniel Suarez", "Daniel Suárez"),
        ("John Hunter Nemechek", "John H. Nemechek"),
    ],
)
def test_driver_key_joins_spellings(results_spelling: str, other_spelling: str) -> None:
    assert driver_key(results_spelling) == driver_key(other_spelling)


def test_driver_key_keeps_fathers_and_sons_apart() -> None:
    assert driver_key("Dale Earnhardt Jr.") == "dale earnhardt jr" != driver_key("Dale Earnhardt")
    assert driver_key("Bobby Hamilton Jr.") != driver_key("Bobby Hamilton")
    assert driver_key("Johnny Benson Sr.") != driver_key("Johnny Benson Jr.")
    assert driver_key("Kyle Busch") != driver_key("Kurt Busch")
    assert driver_key("Ricky Stenhouse Jr.") == "ricky stenhouse"  # no second generation to keep apart


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Kyle Larson", "Larson"),
        ("Ricky Stenhouse Jr.", "Stenhouse"),
        ("Martin Truex Jr", "Truex"),
        ("Dale Earnhardt Sr.", "Earnhardt"),
        ("Al Unser III", "Unser"),
        ("Shane van Gisbergen", "Gisbergen"),
        ("Jr.", "Jr."),  # nothing but a suffix: the name as given
    ],
)
def test_surname_skips_suffixes(name: str, expected: str) -> None:
    assert surname(name) == expected
