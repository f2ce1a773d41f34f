"""Read extracted text into an outline: blocks (headings, numbered clauses and list items,
paragraphs) as exact trimmed spans, nested into sections by level, with the span helpers (`trim`,
`marked_cuts`) that the chunker's sentence splitter shares."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise

from lexbase.ingest.types import PAGE_SEPARATOR

PARA = 1000  # the level of body text: below every heading and list item
_LIST = 10  # list items nest below any numbered section, however deep its number
_LABEL_MAX = 200
_CLAUSE_LABEL_MAX = 80  # an untitled clause is named by its opening words, not its whole text
_HEADING_MAX = 100
_WRAP_MAX = 160  # a longer line was not hard-wrapped, so it is a paragraph of its own
_TITLE_LEVEL = 5  # an unnumbered title-case heading nests inside the numbered sections
_RUNNING_HEAD = 3  # a caps line seen this often is a running head or footer, not a heading

_MARKER = re.compile(
    r"(?P<exhibit>(?:EXHIBIT|SCHEDULE|ANNEX|APPENDIX|ATTACHMENT|Exhibit|Schedule|Annex|Appendix"
    r"|Attachment)\s+[A-Z0-9][A-Z0-9-]*\b(?!\.\d))"
    r"|(?P<article>(?:ARTICLE|PART|CHAPTER)\s+(?:[IVXLC]+|\d+|[A-Z]{3,})\b"
    r"|(?:Article|Part|Chapter)\s+(?:[IVXLC]+|\d+)\b)"
    r"|(?P<section>(?:SECTION|Section|Sec\.|\u00a7)\s*(?P<snum>\d{1,3}(?:\.\w{1,3}){0,5})\b\.?)"
    r"|(?P<num>\d{1,3}(?:\.\d{1,3}){1,5}\.?|\d{1,3}\.)(?=\s|$)"
    r"|(?P<roman>[IVX]{1,4}\.)(?=\s|$)"
    r"|(?P<item>\((?:[a-z]{1,2}|[ivxl]{3,5}|[A-Z]{1,2}|[IVXL]{3,5}|\d{1,3})\)"
    r"|(?:[a-z]|[ivxl]{2,5}|[A-Z])[.)](?=\s)|\d{1,3}\)(?=\s))"
    r"|(?P<bullet>[\u2022\u25cf\u25e6\u25aa\u00b7*\-\u2013\u2014])(?=\s+[A-Za-z\"(])"
    r"|(?P<recital>WHEREAS|Whereas|NOW,?\s+THEREFORE|Now,?\s+[Tt]herefore)\b"
    r"|(?P<witness>IN\s+WITNESS\s+WHEREOF|In\s+Witness\s+Whereof)\b"
    r"|(?P<part>\[(?:Headnotes|Summary|Footnotes|Opinion\b[^\]]{0,60})\])$"
)
_ONE_LINERS = ("exhibit", "article", "part")  # heading markers that never start a long line
_TOC_ENTRY = re.compile(r"\.{5}|\u2026|\s\d{1,3}$")  # dot leaders or a trailing page number
_PAGE_NUMBER = re.compile(r"[-\u2013(\s]*(?:[Pp]age\s+)?\d{1,4}(?:\s+of\s+\d{1,4})?[-\u2013).\s]*")
# Text flattened onto long lines keeps its clauses inline: "...Offering Price. 2.1 Fees. The..."
_INLINE_BREAK = re.compile(
    r"(?:[.;:][\"'\u201d\u2019)]*\s+|(?<!\s)\s{3,})(?="
    r"\d{1,3}\.(?:\d{1,3}(?:\.\d{1,3}){0,3}\.?)?\s+[A-Z\"\u201c(]"
    r"|(?:SECTION|Section|ARTICLE|Article)\s+[\dIVX]"
    r"|\((?:[a-z]{1,2}|[ivx]{1,4}|[A-Z]|\d{1,2})\)\s|[A-Z]\.\s+[A-Z]"
    r"|WHEREAS|NOW,?\s+THEREFORE|IN\s+WITNESS\s+WHEREOF)"
)
_LINE = re.compile(r"[^\n\f]+|\f")
_ENDS_SENTENCE = re.compile(r"[.:;!?][\"'\u201d\u2019)\]]*$")
_RUN_IN_TITLE = re.compile(r"(.{1,100}?)(?:[.:]\s|[.:]?$|\s[-\u2013\u2014]\s)")
_WS = re.compile(r"\s+")
_MINOR_WORDS = re.compile(
    r"a|an|and|as|at|by|for|from|in|into|of|on|or|the|to|under|upon|with|without|not"
)

# Full stops that do not end a sentence or a line (see `_is_abbreviation`).
_INITIALS = re.compile(r"(?:[A-Za-z]\.)*[A-Za-z]")  # "J", "U.S", "e.g": the final dot is the cue
_NUMBER = re.compile(r"\d+(?:\.\d+)*")
_NUMBER_CUE = re.compile(r"(?:Sections?|Sec\.|\u00a7\u00a7?|Article|No\.)\s*$")
_ABBREVIATION = re.compile(
    r"v|vs|Inc|Corp|Co|Ltd|Bros|Mfg|Ins|Assn|Nos?|[Ii]d|al|seq|Mrs?|Ms|Dr|Jr|Sr|St|Hon|Esq|Asst"
    r"|Atty|Ct|App|Supp|Cir|Dist|Div|Dept|Rev|Stat|Ann|Gen|Sess|Reg|Fed|Art|Secs?|Ch|Cl|[Pp]ara"
    r"|[Cc]f|[Ee]ds?|pp|Ark|Ala|Ariz|Cal|Colo|Conn|Del|Fla|Ga|Ill|Ind|Kan|Ky|La|Mass|Md|Mich|Minn"
    r"|Miss|Mo|Mont|Neb|Nev|Okla|Pa|Tenn|Tex|Va|Vt|Wash|Wis|Wyo|So|Atl|Pac|Wall|Pet|How|Cranch"
    r"|Wheat|Crim|Civ|Proc|Evid"
)


def outline(text: str) -> list[Block]:
    """The blocks of `text` in order, each with its parent, section extent and label."""
    return _Outliner(text).run()


# --- blocks -------------------------------------------------------------------------------


@dataclass(slots=True)
class Block:
    start: int
    end: int
    indent: int  # of its first line
    kind: str = "para"  # para | heading | caps | title | clause | item | witness
    level: int = PARA
    marker: str = ""  # "4.2", "(a)", "ARTICLE IV"...
    rest: str = ""  # the rest of the first line
    label: str | None = None  # its own heading text, else its enclosing section's
    bare: bool = False  # a marker with no title yet ("ARTICLE IV", "4.2")
    parent: int = -1  # the innermost heading or list item around it; -1 is the document
    close: int = 0  # for headings and items: one past the last block of their section
    depth: int = 1


def _lines(text: str) -> Iterator[tuple[int, int, int, bool]]:
    """Yield `(start, end, indent, gap)` for every non-blank line, trimmed; `gap` is whether a
    blank line or a page separator came before it."""
    gap, prev_end = True, 0
    for m in _LINE.finditer(text):
        raw, body = m.group(), m.group().strip()
        # Only newlines lie between matches, so two of them make a blank line.
        gap = gap or not body or raw == PAGE_SEPARATOR or m.start() - prev_end > 1
        prev_end = m.end()
        if not body:
            continue
        indent = len(raw) - len(raw.lstrip())
        start, end = m.start() + indent, m.start() + indent + len(body)
        cuts = marked_cuts(_INLINE_BREAK, text, start, end) if len(body) > _WRAP_MAX else []
        for a, b in pairwise([start, *cuts, end]):
            yield *trim(text, a, b), (indent if a == start else 0), gap and a == start
        gap = False


def _is_caps(line: str) -> bool:
    if len(line) > _HEADING_MAX or not line.isupper() or line.endswith((",", ";")):
        return False
    return sum(c.isalpha() for c in line) >= 3 and not _TOC_ENTRY.search(line)


def _is_title_line(line: str) -> bool:
    """ "Standard of Review": a short title-case line, which no wrapped sentence leaves behind."""
    plain = not any(c.isdigit() or c == ":" for c in line) and not line.endswith((".", ",", ";"))
    return len(line) <= 60 and line[0].isupper() and plain and _is_title(line)


def _depth(number: str) -> int:
    parts = number.rstrip(".").split(".")
    while len(parts) > 1 and parts[-1] == "0":  # "SECTION 1.0" is a top-level section
        parts.pop()
    return len(parts)


def _collapse(s: str) -> str:
    return _WS.sub(" ", s).strip()


def _clip(s: str, limit: int) -> str:
    cut = s.rfind(" ", 0, limit + 1) if len(s) > limit else len(s)
    return s[: cut if cut > limit // 2 else limit].rstrip()


def _is_title(s: str) -> bool:
    words = [w.strip("\"'()[],;&/\u201c\u201d\u2018\u2019") for w in s.split()]
    return 1 <= len(words) <= 12 and all(
        not w or w[0].isupper() or w[0].isdigit() or (n and _MINOR_WORDS.fullmatch(w.lower()))
        for n, w in enumerate(words)
    )


def _clause_label(marker: str, rest: str, titled_only: bool) -> str | None:
    """Name a clause by its run-in title ("4.2 Termination for Convenience. Either party...")."""
    m = _RUN_IN_TITLE.match(rest)
    if m and _is_title(m.group(1)):
        return _clip(_collapse(f"{marker} {m.group(1)}"), _LABEL_MAX)
    return None if titled_only else _clip(_collapse(f"{marker} {rest}"), _CLAUSE_LABEL_MAX)


class _Outliner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.blocks: list[Block] = []
        self.styles: list[str] = []  # list styles open in the current section, outermost first
        self.last_item: dict[str, str] = {}
        self.top = 0  # the leading number of the last numbered section: 5 for "5.2"
        self.last, self.last_indent, self.width, self.lines = "", 0, 0, 0  # the open block's

    def run(self) -> list[Block]:
        for start, end, indent, gap in _lines(self.text):
            line = self.text[start:end]
            if self.blocks and not gap and not self._breaks(line, indent):
                self.blocks[-1].end, self.lines = end, self.lines + 1
            else:
                self._finish()
                self.blocks.append(self._classify(start, end, line, indent))
                self.lines, self.width = 1, 0
            self.last, self.last_indent, self.width = line, indent, max(self.width, len(line))
        self._finish()
        heads = Counter(b.label for b in self.blocks if b.kind in ("caps", "title"))
        for b in self.blocks:
            if b.kind in ("caps", "title") and heads[b.label] >= _RUNNING_HEAD:
                b.kind, b.level, b.label = "para", PARA, None
        _nest(self.blocks)
        return self.blocks

    def _breaks(self, line: str, indent: int) -> bool:
        """Whether `line`, right below the open block's last line, starts a new block."""
        prev, ended = self.last, _ENDS_SENTENCE.search(self.last) is not None
        if self.blocks[-1].kind in ("heading", "caps", "title"):  # a wrapped title is caps
            return ended or not _is_caps(line) or _MARKER.match(line) is not None
        if len(prev) > _WRAP_MAX or _PAGE_NUMBER.fullmatch(prev) or _PAGE_NUMBER.fullmatch(line):
            return True
        if _MARKER.match(line):  # "...pursuant to Section\n4.2 of" is a wrapped line
            return ended or len(prev) <= 40
        # In hard-wrapped text a paragraph ends on a short line or before an indented one.
        short = len(prev) < 0.7 * self.width or indent > self.last_indent + 2
        return ended and (short or _is_caps(line))

    def _classify(self, start: int, end: int, line: str, indent: int) -> Block:
        """A new block, typed by its first line."""
        b = Block(start, end, indent)
        m = None if _PAGE_NUMBER.fullmatch(line) else _MARKER.match(line)  # "2." alone is a folio
        if m is None:
            if _is_caps(line):
                b.kind, b.level = "caps", 2
            elif _is_title_line(line):
                b.kind, b.level = "title", _TITLE_LEVEL
            else:
                return b
            self._new_section()
            return b
        name, b.marker, b.rest = m.lastgroup, m.group(), line[m.end() :].strip()
        number = m.group("snum") if name == "section" else b.marker
        if name == "roman" and self._continues(".A", b.marker[:-1]):
            name = "item"  # "I." right after "H." is a letter, not a roman numeral
        elif name == "num" and number[:-1].isdigit() and int(number[:-1]) < self.top:
            name = "item"  # "1." inside section 5 starts a list; it does not end section 5
        toc = b.rest and len(line) <= _HEADING_MAX and _TOC_ENTRY.search(line)
        prose = b.rest[:1].islower() or b.rest[:1] in (",", ";")  # "Section 4 of the Act says"
        if (
            toc
            or (prose and name in ("section", "num"))
            or (name in _ONE_LINERS and len(line) > 80)
        ):
            return b  # a contents line, or a sentence that starts with a reference
        if name in ("item", "bullet", "recital"):
            b.kind, b.level = "item", self._list_level(name, b.marker)
            return b
        if name in ("exhibit", "article", "part", "witness"):
            b.level, self.top = (0 if name == "exhibit" else 1 + ("Footnotes" in b.marker)), 0
            b.kind = "witness" if name == "witness" else "heading"
        else:
            b.level = 2 if name == "roman" else 1 + _depth(number)
            b.kind = "clause" if b.rest else "heading"
            self.top = self.top if name == "roman" else int(number.split(".")[0])
        self._new_section()
        return b

    def _new_section(self) -> None:
        self.styles.clear()
        self.last_item.clear()

    def _continues(self, style: str, letter: str) -> bool:
        previous = self.last_item.get(style, "")
        return len(letter) == len(previous) == 1 and ord(letter) == ord(previous) + 1

    def _list_level(self, name: str, token: str) -> int:
        """Nest list items by style: a style seen before closes the lists opened inside it."""
        style, core = name, token.strip("().")
        if name == "item":
            wrap = "(" if token[0] == "(" else token[-1]
            style = wrap + ("1" if core.isdigit() else "a" if core.islower() else "A")
            if set(core.lower()) <= set("ivxl") and not self._continues(style, core):
                style = wrap + ("i" if core.islower() else "I")  # "(i)" after "(h)" is a letter
        if style in self.styles:
            del self.styles[self.styles.index(style) + 1 :]
        else:
            self.styles.append(style)
        self.last_item[style] = core
        return _LIST + len(self.styles) - 1

    def _finish(self) -> None:
        """Settle the open block once its last line is known."""
        if not self.blocks:
            return
        b, prev = self.blocks[-1], self.blocks[-2] if len(self.blocks) > 1 else None
        span = self.text[b.start : b.end]
        if b.kind == "caps" and (self.lines > 2 or len(span) > 160):  # e.g. a caps disclaimer
            b.kind, b.level = "para", PARA
        heading = ("heading", "caps", "title")
        if b.kind == "title" and prev is not None and prev.kind in heading and not prev.bare:
            b.kind, b.level = "para", PARA  # a byline or subtitle: "[Opinion]", "Hays, Justice"
        if (
            prev is not None
            and prev.bare
            and b.kind in ("caps", "title")
            and PAGE_SEPARATOR not in self.text[prev.end : b.start]
        ):  # "ARTICLE IV", then "TERMINATION" on a line of its own: one heading
            prev.end, prev.bare = b.end, False
            prev.label = _clip(_collapse(f"{prev.label} {span}"), _LABEL_MAX)
            self.blocks.pop()
        elif b.kind in heading:
            b.label = _clip(_collapse(span), _LABEL_MAX)
            b.bare = b.kind == "heading" and not b.rest and not b.marker.startswith("[")
        elif b.kind == "witness":
            b.label = "IN WITNESS WHEREOF"
        elif b.kind in ("clause", "item"):
            b.label = _clause_label(b.marker, b.rest, titled_only=b.kind == "item")


def _closes(b: Block, opened: Block) -> bool:
    if b.level < PARA:
        return opened.level >= b.level
    # Body text indented no deeper than a list item follows the list, not the item.
    return opened.level >= _LIST and opened.indent >= b.indent


def _nest(blocks: list[Block]) -> None:
    """Set each block's parent, each section's extent (`close`) and inherited label."""
    stack: list[int] = []
    for i, b in enumerate(blocks):
        while stack and _closes(b, blocks[stack[-1]]):
            blocks[stack.pop()].close = i
        if stack:
            b.parent, b.depth = stack[-1], blocks[stack[-1]].depth + 1
            b.label = b.label or blocks[b.parent].label
        if b.level < PARA:
            stack.append(i)
    for i in stack:
        blocks[i].close = len(blocks)


# --- spans --------------------------------------------------------------------------------


def trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def marked_cuts(pattern: re.Pattern[str], text: str, start: int, end: int) -> list[int]:
    """Where `pattern` matches in `text[start:end]`, unless at the full stop of "v." or "U.S."."""
    return [
        m.end()
        for m in pattern.finditer(text, start, end)
        if text[m.start()] != "." or not _is_abbreviation(text, start, m.start())
    ]


def _is_abbreviation(text: str, lo: int, dot: int) -> bool:
    """Whether the word before this full stop keeps the sentence going ("v.", "U.S.", "4.2.")."""
    w = dot
    while w > lo and dot - w < 40 and not text[w - 1].isspace():
        w -= 1
    word = text[w:dot].lstrip("(\"'[\u201c\u2018")
    if _ABBREVIATION.fullmatch(word) or _INITIALS.fullmatch(word):
        return True
    # A clause number ("4.2. Termination", "Section 4.2. The...") does not end a sentence.
    return _NUMBER.fullmatch(word) is not None and (
        w == lo or _NUMBER_CUE.search(text, max(lo, w - 12), w) is not None
    )
