"""RTF text by a minimal control-word stripper (no converter is installed on the server).

It keeps body text, footnotes and field results, and drops font/colour/style tables, document
info, pictures, headers/footers and every `\\*` destination it does not know. Formatting,
tables beyond tab-separated cells, and per-font code pages are not modelled.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from lexbase.ingest.errors import CorruptFile
from lexbase.ingest.extractors.common import check_text_size, library_version, single_page
from lexbase.ingest.limits import Limits
from lexbase.ingest.types import Extracted

_TOKEN = re.compile(
    r"\\(?P<word>[a-zA-Z]{1,32})(?P<param>-?\d{1,10})? ?"
    r"|\\'(?P<hex>[0-9a-fA-F]{2})"
    r"|\\(?P<symbol>.)"
    r"|(?P<brace>[{}])"
    r"|(?P<newline>[\r\n]+)"
    r"|(?P<text>[^\\{}\r\n]+)",
    re.DOTALL,
)
_SKIPPED_DESTINATIONS = frozenset(
    {
        "author", "colortbl", "comment", "company", "creatim", "datastore", "doccomm",
        "filetbl", "fldinst", "fonttbl", "footer", "footerf", "footerl", "footerr", "generator",
        "header", "headerf", "headerl", "headerr", "info", "keywords", "latentstyles",
        "listoverridetable", "listtable", "object", "operator", "pict", "printim",
        "revtbl", "revtim", "rsidtbl", "stylesheet", "subject", "themedata", "title",
        "xmlnstbl",
    }
)  # fmt: skip
_WORD_TEXT = {
    "par": "\n", "line": "\n", "sect": "\n", "page": "\n", "row": "\n",
    "tab": "\t", "cell": "\t", "nestcell": "\t",
    "emdash": "\u2014", "endash": "\u2013", "bullet": "\u2022",
    "lquote": "\u2018", "rquote": "\u2019", "ldblquote": "\u201c", "rdblquote": "\u201d",
    "emspace": " ", "enspace": " ", "qmspace": " ",
}  # fmt: skip
_SYMBOL_TEXT = {"\\": "\\", "{": "{", "}": "}", "~": "\u00a0", "_": "-", "\n": "\n", "\r": "\n"}
_CHARSETS = {"ansi": "cp1252", "mac": "mac_roman", "pc": "cp437", "pca": "cp850"}
# Real documents nest a few dozen groups deep; a million "{" is an attack on memory.
_MAX_DEPTH = 1000


@dataclass
class _Group:
    skip: bool = False
    uc: int = 1  # characters that follow each \uN as its fallback for old readers


def _codec(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return "cp1252"


def _kind(match: re.Match[str]) -> str:
    # Not match.lastgroup: for a control word with a parameter that names "param".
    for kind in ("word", "hex", "symbol", "brace", "newline"):
        if match[kind] is not None:
            return kind
    return "text"


def rtf_to_text(source: bytes) -> str:
    # RTF is 7-bit by specification; Latin-1 maps any stray 8-bit byte one to one, and those
    # bytes are decoded in the document's code page like \'hh escapes.
    data = source.decode("latin-1")
    out: list[str] = []
    pending = bytearray()  # \'hh bytes, decoded together so multi-byte code pages work
    codec = "cp1252"
    stack = [_Group()]
    fallback_left = 0
    pos = 0

    def flush() -> None:
        if pending:
            out.append(pending.decode(codec, errors="replace"))
            pending.clear()

    while pos < len(data):
        match = _TOKEN.match(data, pos)
        if match is None:  # a lone backslash at the very end
            break
        pos = match.end()
        group = stack[-1]
        kind = _kind(match)
        if kind == "hex":
            if fallback_left:
                fallback_left -= 1
            elif not group.skip:
                pending.append(int(match["hex"], 16))
            continue
        flush()
        if kind == "brace":
            if match["brace"] == "{":
                if len(stack) >= _MAX_DEPTH:
                    raise CorruptFile("The RTF file nests groups too deeply")
                stack.append(_Group(group.skip, group.uc))
            elif len(stack) > 1:
                stack.pop()
            fallback_left = 0
        elif kind == "word":
            word, param = match["word"], match["param"]
            if word == "bin" and param:
                pos += max(int(param), 0)  # raw binary data follows; never text
            elif word in _SKIPPED_DESTINATIONS:
                group.skip = True
            elif word == "ansicpg" and param:
                codec = _codec(f"cp{param}")
            elif word in _CHARSETS:
                codec = _CHARSETS[word]
            elif word == "uc" and param:
                group.uc = max(int(param), 0)
            elif word == "u" and param:
                if not group.skip:
                    out.append(chr(int(param) % 0x10000))
                fallback_left = group.uc
            elif not group.skip and word in _WORD_TEXT:
                out.append(_WORD_TEXT[word])
        elif kind == "symbol":
            symbol = match["symbol"]
            if symbol == "*":
                group.skip = True
            elif fallback_left:
                fallback_left -= 1
            elif not group.skip and symbol in _SYMBOL_TEXT:
                out.append(_SYMBOL_TEXT[symbol])
        elif kind == "text" and not group.skip:
            text = match["text"]
            if fallback_left:
                skipped = min(fallback_left, len(text))
                text = text[skipped:]
                fallback_left -= skipped
            if text.isascii():
                out.append(text)
            else:
                out.append(text.encode("latin-1").decode(codec, errors="replace"))
        # Raw line breaks are not text in RTF; only \par and friends are.
    flush()
    # \uN escapes spell characters beyond the BMP as UTF-16 surrogate pairs: pair them up,
    # and replace any left alone (they could not be stored as UTF-8).
    return "".join(out).encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def extract_rtf(data: bytes, limits: Limits) -> Extracted:
    text = rtf_to_text(data)
    check_text_size(len(text), limits.max_text_chars)
    return single_page(text, "lexbase-rtf", library_version("lexbase"))
