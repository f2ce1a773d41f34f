"""Whitespace normalisation with a way back to the original offsets, and caption lines."""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass

MAX_CAPTION_LINE = 600

# Characters that carry no text: soft hyphens left by OCR/PDF line breaks, zero-width marks, BOM.
_INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
# Only runs that need rewriting are matched (two or more blanks, or one that is not a plain
# space), so ordinary single spaces cost nothing on multi-megabyte documents.
_REWRITE = re.compile(rf"[\s{_INVISIBLE}]{{2,}}|[^\S ]|[{_INVISIBLE}]")
_DROP_INVISIBLE = str.maketrans("", "", _INVISIBLE)
_LINE_BREAK = re.compile(r"[\n\r\f\v\u2028\u2029]+")
_PLEADING_LINE_NUMBER = re.compile(r"\d{1,2}")
# A right-hand caption column: "SMITH, ) No. 12-3" or "v. ] Robert L. Miller, Judge." A bare
# "§" column separator is common in Texas captions; "§ 1983" (a section) is not one.
_COLUMN = re.compile(r"(?:^|\s+)(?:[)\]]|§(?!\s*\d))(?:\s+|$)")


@dataclass(frozen=True, slots=True)
class OffsetMap:
    """Maps offsets in a normalised copy of a text back to the original text."""

    starts: tuple[int, ...]  # first normalised offset after each rewritten run
    shifts: tuple[int, ...]  # original minus normalised offset from that point on

    def start(self, offset: int) -> int:
        index = bisect_right(self.starts, offset)
        return offset + (self.shifts[index - 1] if index else 0)

    def end(self, offset: int) -> int:
        # An end offset is exclusive: map the last character it covers, so whitespace that was
        # squeezed out right after a citation does not end up inside its span.
        return self.start(offset - 1) + 1 if offset > 0 else 0


def _replacement(run: str) -> str:
    if not any(char.isspace() for char in run):
        return ""
    # Keep paragraph breaks (eyecite stops case-name and pin-cite scans at "\n"); a single
    # line break is only layout, and "410 U.S.\n113" must still read as one citation.
    return "\n" if run.count("\n") >= 2 else " "


def normalize_whitespace(text: str) -> tuple[str, OffsetMap]:
    """Collapse layout whitespace the way eyecite expects, remembering how offsets moved."""
    pieces: list[str] = []
    starts: list[int] = []
    shifts: list[int] = []
    copied = 0
    removed = 0
    for match in _REWRITE.finditer(text):
        run = match.group()
        replacement = _replacement(run)
        if replacement == run:
            continue
        pieces.append(text[copied : match.start()])
        pieces.append(replacement)
        removed += len(run) - len(replacement)
        starts.append(match.start() - removed + len(run))
        shifts.append(removed)
        copied = match.end()
    if not pieces:
        return text, OffsetMap((), ())
    pieces.append(text[copied:])
    return "".join(pieces), OffsetMap(tuple(starts), tuple(shifts))


def squash(text: str) -> str:
    """One line, single spaces: the form stored for names and numbers found in the text."""
    return " ".join(text.translate(_DROP_INVISIBLE).split())


@dataclass(frozen=True, slots=True)
class CaptionLine:
    text: str  # the whole line, stripped
    left: str  # the line before a caption column separator (the parties' column)
    columns: tuple[str, ...]  # the line cut at its column separators


def caption_lines(head: str) -> list[CaptionLine]:
    """Non-blank lines of a document's opening, without pleading-paper line numbers."""
    lines: list[CaptionLine] = []
    for raw in _LINE_BREAK.split(head):
        # Caption lines are short; a longer line is running text, and cutting it bounds the
        # work of every caption pattern on adversarial input.
        line = squash(raw[:MAX_CAPTION_LINE])
        if not line or _PLEADING_LINE_NUMBER.fullmatch(line):
            continue
        columns = tuple(part.strip() for part in _COLUMN.split(line))
        lines.append(CaptionLine(line, columns[0], columns))
    return lines
