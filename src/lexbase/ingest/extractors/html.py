"""HTML text via lxml: scripts and styles dropped, blocks on their own lines, entities decoded."""

from __future__ import annotations

import re

import lxml.html
from lxml import etree

from lexbase.ingest.errors import CorruptFile
from lexbase.ingest.extractors.common import check_text_size, library_version, single_page
from lexbase.ingest.extractors.text import decode_text
from lexbase.ingest.limits import Limits
from lexbase.ingest.types import Extracted

_DROPPED = ("script", "style", "noscript", "template")
# Blocks that end a line, and blocks that end a paragraph (a blank line follows). Breaks
# that meet merge into the larger one, so nested blocks never stack up blank lines.
_LINE, _PARAGRAPH = 1, 2
_BREAKS = {
    **dict.fromkeys(
        ("br", "caption", "dd", "dt", "figcaption", "li", "option", "summary", "td", "th", "tr"),
        _LINE,
    ),
    **dict.fromkeys(
        (
            "address", "article", "aside", "blockquote", "body", "details", "dialog", "div",
            "dl", "fieldset", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
            "header", "hr", "html", "main", "nav", "ol", "p", "pre", "section", "table",
            "tbody", "tfoot", "thead", "title", "ul",
        ),
        _PARAGRAPH,
    ),
}  # fmt: skip
_SPACE = re.compile(r"\s+")
_LINE_SPACE = re.compile(r"[^\S\n]+")
# lxml refuses a str that still carries an encoding declaration; the text is decoded already.
_XML_DECLARATION = re.compile(r"\A\s*<\?xml[^>]{0,200}\?>")


def _parser() -> etree.HTMLParser:
    # libxml2's HTML parser never expands entities declared in a DOCTYPE's internal subset
    # (the HTML parser has no resolve_entities switch because it has nothing to resolve);
    # no_network keeps it off the network and huge_tree=False keeps depth and text-node
    # limits on.
    return lxml.html.HTMLParser(
        no_network=True,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def _strip_internal_subset(text: str) -> str:
    """Drop a leading `<!DOCTYPE x [ ... ]>`, whose declarations would otherwise show as text."""
    start = text.find("<!")
    if start == -1 or start > 1024 or not text[start:].upper().startswith("<!DOCTYPE"):
        return text
    bracket = text.find("[", start)
    close = text.find(">", start)
    if bracket == -1 or close < bracket:
        return text
    end = text.find("]>", bracket)
    if end == -1:
        return text
    return text[:start] + text[end + 2 :]


def _render(root: etree._Element) -> str:
    tokens: list[str | int] = []  # text, or the strength of a break between blocks
    preformatted = 0

    def inline(text: str | None) -> None:
        if text:
            tokens.append(text if preformatted else _SPACE.sub(" ", text))

    for event, element in etree.iterwalk(root, events=("start", "end")):
        tag = element.tag if isinstance(element.tag, str) else ""
        brk = _BREAKS.get(tag, 0)
        if event == "start":
            if brk:
                tokens.append(brk)
            if tag == "pre":
                preformatted += 1
            inline(element.text)
        else:
            if tag == "pre":
                preformatted -= 1
            if brk and tag != "br":
                tokens.append(brk)
            inline(element.tail)
    return _assemble(tokens)


def _assemble(tokens: list[str | int]) -> str:
    out: list[str] = []
    pending = 0
    for token in tokens:
        if isinstance(token, int):
            pending = max(pending, token)
            continue
        if pending:
            if token.isspace():
                continue  # source indentation between blocks
            if out:
                out.append("\n" * pending)
            pending = 0
        out.append(token)
    # Whitespace is collapsed and trimmed per line; a character class with no nesting keeps
    # this linear on hostile runs of spaces.
    return "\n".join(_LINE_SPACE.sub(" ", line).strip() for line in "".join(out).split("\n"))


def extract_html(data: bytes, limits: Limits) -> Extracted:
    source, encoding = decode_text(data)
    source = _XML_DECLARATION.sub("", source.replace("\r\n", "\n"), count=1)
    source = _strip_internal_subset(source)
    try:
        root = lxml.html.document_fromstring(source, parser=_parser())
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        raise CorruptFile("The HTML file cannot be parsed") from None
    for element in list(root.iter(*_DROPPED)):
        element.drop_tree()
    text = _render(root)
    check_text_size(len(text), limits.max_text_chars)
    return single_page(text, "lxml", library_version("lxml"), encoding=encoding)
