"""The smart-playlist query language: a few words that pick tracks by tags and statistics.

    genre:jazz plays>5 last_played<30d rating>=4 bpm:90..120

A query is terms separated by spaces; a track matches when every term does. A term is
``field OP value`` (``OP`` one of ``: = != < <= > >=``), optionally negated with a leading
``-``. Values with spaces go in quotes (``artist:"Miles Davis"``); ``a|b`` matches either;
``lo..hi`` is an inclusive range (either end may be left open). A bare word matches the
title, artist or album.

- text fields (genre, artist, album, title, ...): ``:`` contains, ``=`` is exactly (both
  ignore case);
- ``tag``: the file's genre or a tag Segue heard in the audio (``tag:chillout``); ``mood``:
  a heard mood (``mood:happy``; mellow, chill, chillout, happy, sad, beautiful, sexy,
  party, catchy, easy listening). Heard tags come from ``segue analyze``;
- numbers (year, plays, skips, rating in stars 0-5, bpm, energy 0-1, duration in seconds or
  ``m:ss``): compared as numbers;
- ages (last_played, added): ``30d``, ``2w``, ``6m``, ``1y``, ``12h``; ``last_played<30d``
  means played within the last 30 days, ``last_played>1y`` not played for a year (or never);
- flags (liked, disliked): ``yes``/``no``.

This module only parses; :mod:`player.library.playlists` turns a query into SQL.
"""

from __future__ import annotations

import difflib
import re
import shlex
from dataclasses import dataclass

from player.errors import SegueError

TEXT = "text"
NUMBER = "number"
AGE = "age"
FLAG = "flag"

FIELDS: dict[str, str] = {
    "genre": TEXT,
    "tag": TEXT,
    "mood": TEXT,
    "artist": TEXT,
    "album": TEXT,
    "albumartist": TEXT,
    "title": TEXT,
    "composer": TEXT,
    "comment": TEXT,
    "path": TEXT,
    "format": TEXT,
    "year": NUMBER,
    "plays": NUMBER,
    "skips": NUMBER,
    "rating": NUMBER,
    "bpm": NUMBER,
    "energy": NUMBER,
    "duration": NUMBER,
    "last_played": AGE,
    "added": AGE,
    "liked": FLAG,
    "disliked": FLAG,
}
ALIASES = {
    "tags": "tag",
    "heard": "tag",
    "playcount": "plays",
    "lastplayed": "last_played",
    "date": "year",
    "tempo": "bpm",
}
_AGE_UNITS = {"h": 3600.0, "d": 86400.0, "w": 7 * 86400.0, "m": 30 * 86400.0, "y": 365 * 86400.0}
_TERM = re.compile(r"^(?P<neg>[-!])?(?P<field>[A-Za-z_]+)(?P<op><=|>=|!=|:|=|<|>)(?P<value>.*)$")
_YES = {"yes", "true", "1", "y"}
_NO = {"no", "false", "0", "n"}


class SmartQueryError(SegueError):
    """A query that cannot be understood; the message says where and why, in one line."""


@dataclass(frozen=True)
class Condition:
    field: str
    kind: str  # TEXT, NUMBER, AGE or FLAG
    op: str  # ":", "=", "!=", "<", "<=", ">", ">=" or "range"
    values: tuple[str | float | None, ...]  # alternatives; a range holds (low, high)
    negate: bool = False


@dataclass(frozen=True)
class SmartQuery:
    text: str
    conditions: tuple[Condition, ...]


def parse(text: str) -> SmartQuery:
    if not text.strip():
        raise SmartQueryError("the smart query is empty (example: 'genre:jazz plays>5')")
    # An unquoted '|' is a token of its own, so "a | b" and "genre:jazz| rock" read as
    # "a|b" (spaces around it do not split a term), while a quoted one is part of the
    # value: title:"AC | DC" is one title.
    lexer = shlex.shlex(text.strip(), posix=True, punctuation_chars="|")
    lexer.whitespace_split = True
    try:
        tokens = list(lexer)
    except ValueError as exc:
        raise SmartQueryError(f"bad smart query: {exc} (close the quotes)") from None
    return SmartQuery(text, tuple(_term(group) for group in _alternatives(tokens)))


def _alternatives(tokens: list[str]) -> list[list[str]]:
    """The tokens grouped into terms: each group is a term and the values '|' joins to it."""
    groups: list[list[str]] = []
    joining = False
    for token in tokens:
        if set(token) == {"|"}:
            if token != "|" or not groups or joining:
                shown = "|".join(groups[-1]) + token if groups else token
                raise SmartQueryError(
                    f"'{shown}': '|' needs a value on each side (genre:jazz|blues)"
                )
            joining = True
        elif joining:
            groups[-1].append(token)
            joining = False
        else:
            groups.append([token])
    if joining:
        raise SmartQueryError(
            f"'{'|'.join(groups[-1])}|': '|' needs a value on each side (genre:jazz|blues)"
        )
    return groups


def _term(group: list[str]) -> Condition:
    first, extra = group[0], tuple(group[1:])
    word = "|".join(group)  # as the user wrote it, for the messages
    match = _TERM.match(first)
    if match is None:
        if any(c in word for c in "()[]{}"):
            raise SmartQueryError(
                f"'{word}': brackets are not part of the language; terms all have to match, "
                "and 'a|b' matches either (genre:jazz|blues; quote a title with brackets)"
            )
        if not any(c.isalnum() for c in word):
            raise SmartQueryError(f"'{word}' is not a term (example: genre:jazz plays>5)")
        if first.startswith("-") and len(first) > 1:
            return Condition("any", TEXT, ":", (first[1:], *extra), negate=True)
        return Condition("any", TEXT, ":", (first, *extra))
    raw_field = match["field"].lower()
    field = ALIASES.get(raw_field, raw_field)
    if field not in FIELDS:
        close = difflib.get_close_matches(field, [*FIELDS, *ALIASES], n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else f" (known: {', '.join(FIELDS)})"
        raise SmartQueryError(f"unknown field '{match['field']}' in '{word}'{hint}")
    kind, op, value = FIELDS[field], match["op"], match["value"]
    negate = match["neg"] is not None
    if op == "!=":
        op, negate = "=", not negate
    if value == "":
        raise SmartQueryError(f"'{word}' has no value after '{op}'")
    if kind == TEXT:
        if op not in (":", "="):
            raise SmartQueryError(f"'{word}': {field} is text; use {field}:WORD or {field}=EXACT")
        values = (value, *extra)
        if field == "mood":
            from recommender.audio.tags import MOODS

            unknown = [v for v in values if v.lower() not in MOODS]
            if unknown:
                raise SmartQueryError(
                    f"'{word}': unknown mood '{unknown[0]}' (known: {', '.join(sorted(MOODS))})"
                )
        return Condition(field, kind, op, values, negate)
    if kind == FLAG:
        if op not in (":", "="):
            raise SmartQueryError(f"'{word}': {field} is yes or no; write {field}:yes")
        lowered = value.lower()
        if extra or lowered not in _YES | _NO:
            raise SmartQueryError(
                f"'{word}': {field} must be yes or no, not '{'|'.join((value, *extra))}'"
            )
        return Condition(field, kind, "=", (1.0 if lowered in _YES else 0.0,), negate)
    convert = _age if kind == AGE else (_duration if field == "duration" else _number)
    if ".." in value:
        if extra:
            raise SmartQueryError(f"'{word}': a range takes no '|' ({field}:LOW..HIGH)")
        if op != ":":
            raise SmartQueryError(f"'{word}': a range goes with ':' ({field}:LOW..HIGH)")
        low, _, high = value.partition("..")
        if not low and not high:
            raise SmartQueryError(f"'{word}': a range needs at least one end")
        bounds = (convert(low, word) if low else None, convert(high, word) if high else None)
        if bounds[0] is not None and bounds[1] is not None and bounds[0] > bounds[1]:
            raise SmartQueryError(f"'{word}': the range is reversed; write {field}:{high}..{low}")
        return Condition(field, kind, "range", bounds, negate)
    op = "=" if op == ":" else op
    return Condition(field, kind, op, tuple(convert(v, word) for v in (value, *extra)), negate)


def _number(text: str, word: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise SmartQueryError(f"'{word}': '{text}' is not a number") from None


def _duration(text: str, word: str) -> float:
    """Seconds from ``245``, ``4:05``, ``4m`` or ``90s``."""
    found = re.fullmatch(r"(?:(\d+):)?(\d+(?:\.\d+)?)([sm]?)", text.strip())
    if found is None:
        raise SmartQueryError(f"'{word}': '{text}' is not a duration (245, 4:05 or 4m)")
    minutes, amount, unit = found.groups()
    seconds = float(amount) * (60.0 if unit == "m" else 1.0)
    return seconds + 60.0 * float(minutes or 0)


def _age(text: str, word: str) -> float:
    """Seconds from ``30d``, ``2w``, ``6m``, ``1y`` or ``12h``."""
    found = re.fullmatch(r"(\d+(?:\.\d+)?)([hdwmy])", text.strip().lower())
    if found is None:
        raise SmartQueryError(
            f"'{word}': '{text}' is not an age; write a number and h, d, w, m or y (e.g. 30d)"
        )
    return float(found[1]) * _AGE_UNITS[found[2]]
