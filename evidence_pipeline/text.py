"""Text shown to people: what a name from the systems may not do to the page it is shown on, and counts whose
nouns and verbs agree with them."""

from __future__ import annotations

import re

#: Unicode bidirectional controls (embeddings and overrides U+202A–U+202E, isolates U+2066–U+2069, the marks
#: U+200E/U+200F and U+061C): invisible, yet they reorder the text after them, so a name holding one can make a
#: row of a report read as something else ("Trojan Source")
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


def escape_bidi(text: str) -> str:
    """`text` with every bidi control shown as its escape (`\\u202e`), so it is seen and reorders nothing."""
    return BIDI_CONTROLS.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """The word that agrees with `count`: `singular` for exactly one, else the plural (`singular` + "s" unless
    given)."""
    return singular if count == 1 else plural_form or f"{singular}s"


def counted(count: int, singular: str, plural_form: str | None = None) -> str:
    """`count` with its noun in the right number: "1 control", "2 controls", "1,204 records"."""
    return f"{count:,} {plural(count, singular, plural_form)}"
