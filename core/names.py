"""Driver names: the keys that join one driver's spellings across site player lists, the results
table and the race logs, and the short form printed in tables.

The bottom layer of core: it imports nothing from the rest of the package.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

__all__ = [
    "GENERATIONAL_NAMES",
    "NAME_ALIASES",
    "NAME_SUFFIXES",
    "driver_key",
    "normalise_name",
    "surname",
]

# Generational suffixes, lowercased and without their period ("Jr." -> "jr").
NAME_SUFFIXES = frozenset({"jr", "sr", "ii", "iii"})
_DROPPED_CHARS = str.maketrans("", "", ".'\u2019")
_SEPARATORS = re.compile(r"[\s,\-\u2010-\u2015]+")

# Spellings that differ beyond what normalise_name folds (normalised key -> normalised key).
NAME_ALIASES: Mapping[str, str] = {"john h nemechek": "john hunter nemechek"}
# Keys that two generations share in the results file (Dale Earnhardt and Dale Earnhardt Jr. raced
# in the same 53 races); for these the key keeps the suffix that normalise_name drops.
GENERATIONAL_NAMES = frozenset(
    {"dale earnhardt", "bobby hamilton", "ron hornaday", "johnny benson", "wally dallenbach", "al unser"}
)
_GENERATION_SUFFIX = re.compile(rf"[\s,]+({'|'.join(sorted(NAME_SUFFIXES))})\W*$", re.IGNORECASE)


def normalise_name(name: str) -> str:
    """A spelling-insensitive key for a driver name.

    Lowercase, accents stripped, periods and apostrophes dropped, whitespace, commas and hyphens
    collapsed to single spaces, and a trailing "jr", "sr", "ii" or "iii" dropped, so that
    "A.J. Allmendinger", "Ricky Stenhouse Jr." and "Daniel Suárez" meet their plain spellings.
    """
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    words = _SEPARATORS.sub(" ", plain.casefold().translate(_DROPPED_CHARS)).split()
    while len(words) > 1 and words[-1] in NAME_SUFFIXES:
        words.pop()
    return " ".join(words)


def driver_key(name: str) -> str:
    """The join key of a driver name in every source: `normalise_name` plus two fixes.

    NAME_ALIASES joins spellings that differ in more than `normalise_name` folds ("John H.
    Nemechek" -> "john hunter nemechek"), and for the father-and-son names in GENERATIONAL_NAMES
    the suffix is kept ("Dale Earnhardt Jr." -> "dale earnhardt jr", "Dale Earnhardt" ->
    "dale earnhardt").
    """
    key = normalise_name(name)
    key = NAME_ALIASES.get(key, key)
    if key in GENERATIONAL_NAMES:
        suffix = _GENERATION_SUFFIX.search(name.strip())
        if suffix is not None:
            return f"{key} {suffix.group(1).lower()}"
    return key


def surname(name: str) -> str:
    """The last word of a name that is not a suffix ("Ricky Stenhouse Jr." -> "Stenhouse")."""
    parts = [p for p in name.split() if p.rstrip(".").lower() not in NAME_SUFFIXES]
    return parts[-1] if parts else name
