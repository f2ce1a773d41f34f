"""A document's profile: the text a query names it by (title, parties, opening text)."""

from __future__ import annotations

from collections.abc import Sequence

# The parties and the kind of agreement or case are stated at the start: a contract's
# preamble, an opinion's caption.
OPENING_CHARS = 1500


def profile_text(title: str, parties: Sequence[str], text: str) -> str:
    lines = [title, *parties, text[:OPENING_CHARS]]
    return "\n".join(line for line in lines if line)


def replace_title(profile: str, old_title: str, new_title: str) -> str:
    """The profile with its first line (the title) changed."""
    rest = profile[len(old_title) :] if profile.startswith(old_title) else "\n" + profile
    return new_title + rest
