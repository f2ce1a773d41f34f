"""Plain text: decoded exactly, so offsets into the text are offsets into the file's characters."""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

from lexbase.ingest.errors import NotText
from lexbase.ingest.extractors.common import check_text_size, join_pages, library_version
from lexbase.ingest.limits import Limits
from lexbase.ingest.types import PAGE_SEPARATOR, Extracted

# Longest BOMs first: the UTF-32-LE BOM starts with the UTF-16-LE one. Each codec named here
# strips its own BOM, so `data.decode(encoding)` reproduces the extracted text exactly.
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# C0 controls other than \t \n \v \f \r, DEL, and the C1 block. In real text they are rare;
# C1 characters in particular mean Windows-1252 bytes were read as Latin-1.
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f]")
_MAX_CONTROL_RATIO = 0.02
_WIDE = ("utf_16", "utf_32")
_PREFERRED_ON_TIE = "cp1252"


def bom_encoding(data: bytes) -> str | None:
    """The BOM-aware codec for `data`, if it starts with a byte-order mark."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return encoding
    return None


def is_plausible_text(text: str) -> bool:
    if "\x00" in text:
        return False
    controls = sum(1 for _ in _CONTROL.finditer(text))
    return controls <= len(text) * _MAX_CONTROL_RATIO


def _encodings_to_try(data: bytes) -> list[str]:
    """charset-normalizer's candidates, best first, with Windows-1252 moved to the front when
    it scores exactly as well as the best.

    On short Western text several code pages tie (same mess, same coherence) and the
    library's order among them is arbitrary: it has named Latin-1 text "cp1250" and so
    turned "Señor" into "Seńor". Ties go to Windows-1252, the code page of Western
    word processors and so of most non-UTF-8 legal text.
    """
    matches = list(from_bytes(data))
    order = [name for match in matches for name in match.could_be_from_charset]
    if matches:
        top = matches[0]
        tied = {
            name
            for match in matches
            if match.chaos == top.chaos and match.coherence == top.coherence
            for name in match.could_be_from_charset
        }
        if _PREFERRED_ON_TIE in tied:
            order.insert(0, _PREFERRED_ON_TIE)
    return list(dict.fromkeys(order))


def _guess(data: bytes) -> tuple[str, str] | None:
    """The first plausible strict decoding among charset-normalizer's candidates."""
    has_nul = b"\x00" in data
    for encoding in _encodings_to_try(data):
        # NUL bytes are legitimate only as the high bytes of UTF-16/32 code units.
        if has_nul and not encoding.startswith(_WIDE):
            continue
        try:
            text = data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
        if is_plausible_text(text):
            return text, encoding
    return None


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode the whole file strictly; return the text and the codec that reproduces it."""
    encoding = bom_encoding(data)
    if encoding is not None:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            raise NotText("The file starts with a byte-order mark but does not decode") from None
        if not is_plausible_text(text):
            raise NotText()
        return text, encoding
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        # NUL bytes are valid UTF-8, so BOM-less UTF-16 of ASCII text decodes "successfully";
        # only a plausible result settles it.
        if is_plausible_text(text):
            return text, "utf-8"
    guessed = _guess(data)
    if guessed is None:
        raise NotText()
    return guessed


def sample_is_text(sample: bytes, complete: bool) -> bool:
    """Whether a file's first bytes read as text; `complete` says the sample is the whole file."""
    encoding = bom_encoding(sample)
    if encoding is not None:
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            return is_plausible_text(decoder.decode(sample, final=complete))
        except UnicodeDecodeError:
            return False
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(sample, final=complete)
    except UnicodeDecodeError:
        pass
    else:
        if is_plausible_text(text):
            return True
    if not complete and b"\x00" not in sample:
        # Cut at a line end so the sample does not end inside a multi-byte character;
        # 0x0A is never a trail byte in the ASCII-compatible multi-byte encodings.
        cut = sample.rfind(b"\n")
        if cut > 0:
            sample = sample[: cut + 1]
    return _guess(sample) is not None


def extract_text(data: bytes, limits: Limits) -> Extracted:
    text, encoding = decode_text(data)
    check_text_size(len(text), limits.max_text_chars)
    # Nothing is normalised: the text is the file's own characters. Form feeds, where a
    # file has them, are its page breaks, and they are exactly the page separator.
    _, spans = join_pages(text.split(PAGE_SEPARATOR))
    return Extracted(
        text=text,
        pages=spans,
        extractor="charset-normalizer",
        extractor_version=library_version("charset-normalizer"),
        encoding=encoding,
    )
