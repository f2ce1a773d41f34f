"""Structure-aware chunking with exact offsets: `chunk` packs the outline's blocks, keeping a
section whole when it fits in `max_chars`, grouping whole sibling sections up to `target_chars`,
and splitting the rest at children, paragraphs, sentences (`sentence_spans`), `;`/`:` clauses
and, last, whitespace. A chunk is always `text[start:end]`, trimmed by moving offsets, so hits
and citations can be shown in place."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import pairwise

from lexbase.ingest.outline import PARA, Block, marked_cuts, outline, trim
from lexbase.ingest.types import PAGE_SEPARATOR, Chunk, PageSpan

# Sentence ends need an uppercase next word, so "U.S. 113" and "Inc. shall" never qualify.
_SENTENCE_END = re.compile(
    r"[.!?][\"'\u201d\u2019)\]]*\s+(?=[\"'\u201c\u2018(\[]?[A-Z])"
    r"|\n[^\S\n]*\n\s*"  # a blank line
)
_CLAUSE_END = re.compile(r"[;:]\s+")
_WS = re.compile(r"\s+")


def chunk(
    text: str,
    pages: list[PageSpan],
    *,
    target_chars: int = 1200,
    max_chars: int = 2000,
    min_chars: int = 200,
) -> list[Chunk]:
    """Split `text` into structure-following chunks; `pages` index into `text` (may be empty)."""
    if not (0 <= min_chars <= target_chars <= max_chars and max_chars > 0):
        raise ValueError("need 0 <= min_chars <= target_chars <= max_chars and max_chars > 0")
    blocks = outline(text)
    packer = _Packer(text, blocks, target_chars, max_chars, min_chars)
    pieces = packer.merge_small(packer.pack(0, len(blocks), -1))
    spans = sorted(pages, key=lambda p: p.start)
    starts = [p.start for p in spans]

    def page(pos: int) -> int | None:
        return spans[max(bisect_right(starts, pos) - 1, 0)].page if spans else None

    return [
        Chunk(
            ordinal=n,
            start=p.start,
            end=p.end,
            page=page(p.start),
            section=packer.label(p.node),
            text=text[p.start : p.end],
        )
        for n, p in enumerate(pieces)
    ]


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Trimmed `(start, end)` spans of the sentences in `text[start:end]`."""
    end = len(text) if end is None else end
    bounds = [start, *marked_cuts(_SENTENCE_END, text, start, end), end]
    spans = (trim(text, a, b) for a, b in pairwise(bounds))
    return [(a, b) for a, b in spans if a < b]


# --- packing ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Piece:
    start: int
    end: int
    node: int  # the innermost heading or list item whose section holds the whole piece
    whole: bool = False  # the piece is all of `node`'s section


class _Packer:
    def __init__(
        self, text: str, blocks: list[Block], target: int, max_chars: int, min_chars: int
    ) -> None:
        self.text, self.blocks = text, blocks
        self.target, self.max, self.min = target, max_chars, min_chars
        self.breaks = [m.start() for m in re.finditer(PAGE_SEPARATOR, text)]

    def pack(self, lo: int, hi: int, node: int) -> list[_Piece]:
        """Pieces for blocks[lo:hi], the contents of `node` (whose own heading is blocks[lo])."""
        return self._gather(self._children(lo, hi, node), node)

    def _children(self, lo: int, hi: int, node: int) -> Iterator[_Piece | list[_Piece]]:
        """Each child of `node` whole if it fits, else already split."""
        i = lo
        while i < hi:
            b = self.blocks[i]
            nested = b.level < PARA and i != node
            j = b.close if nested else i + 1
            if self._fits(b.start, self.blocks[j - 1].end):
                yield _Piece(b.start, self.blocks[j - 1].end, i if nested else node, nested)
            else:
                yield self.pack(i, j, i) if nested else self._split(b.start, b.end, node, 0)
            i = j

    def merge_small(self, pieces: list[_Piece]) -> list[_Piece]:
        """Join pieces under `min_chars` to the next piece of their section, else the previous."""
        out: list[_Piece] = []
        for n, p in enumerate(pieces):
            if p.end - p.start < self.min:
                if n + 1 < len(pieces) and (joined := self._join(p, pieces[n + 1], p)):
                    pieces[n + 1] = joined
                    continue
                if out and (joined := self._join(out[-1], p, p)):
                    out[-1] = joined
                    continue
            out.append(p)
        return out

    def label(self, node: int) -> str | None:
        return self.blocks[node].label if node >= 0 else None

    def _page(self, pos: int) -> int:
        return bisect_right(self.breaks, pos)

    def _fits(self, start: int, end: int) -> bool:
        return end - start <= self.max and self._page(start) == self._page(end - 1)

    def _gather(self, items: Iterable[_Piece | list[_Piece]], node: int) -> list[_Piece]:
        """Group neighbouring whole pieces up to `target_chars`; split ones stay as they are."""
        out: list[_Piece] = []
        grouping = False
        for item in items:
            if isinstance(item, list):
                out += item
                grouping = False
            elif (
                grouping
                and item.end - out[-1].start <= self.target
                and self._fits(out[-1].start, item.end)
            ):
                out[-1] = _Piece(out[-1].start, item.end, node)
            else:
                out.append(item)
                grouping = True
        return out

    def _split(self, start: int, end: int, node: int, level: int) -> list[_Piece]:
        """Split an oversized span at sentences, then clauses, then whitespace, then anywhere."""
        if level == 0:
            cuts = marked_cuts(_SENTENCE_END, self.text, start, end)
        elif level < 3:
            pattern = _CLAUSE_END if level == 1 else _WS
            cuts = [m.end() for m in pattern.finditer(self.text, start, end)]
        else:
            cuts = list(range(start + self.max, end, self.max))
        spans = [trim(self.text, a, b) for a, b in pairwise([start, *cuts, end])]
        return self._gather(
            (
                _Piece(a, b, node) if b - a <= self.max else self._split(a, b, node, level + 1)
                for a, b in spans
                if a < b
            ),
            node,
        )

    def _join(self, first: _Piece, second: _Piece, small: _Piece) -> _Piece | None:
        """`first` and `second` as one piece. A small piece may join the rest of its own section;
        otherwise both must be complete, so the tail of a split clause never meets the next."""
        if not self._fits(first.start, second.end):
            return None
        if not any(c.isalpha() for c in self.text[small.start : small.end]):
            other = second if small is first else first  # a page number belongs to no section
            return _Piece(first.start, second.end, other.node, other.whole)
        lca = self._lca(first.node, second.node)
        if lca != small.node and not all(self._complete_in(p, lca) for p in (first, second)):
            return None
        return _Piece(first.start, second.end, lca)

    def _complete_in(self, piece: _Piece, node: int) -> bool:
        """Whether `piece` is body text of `node` or a whole section directly inside it."""
        return piece.node == node or (piece.whole and self.blocks[piece.node].parent == node)

    def _lca(self, a: int, b: int) -> int:
        while a != b:
            if (self.blocks[a].depth if a >= 0 else 0) >= (self.blocks[b].depth if b >= 0 else 0):
                a = self.blocks[a].parent
            else:
                b = self.blocks[b].parent
        return a
