"""Text for PDF pages that have none: render each page with PDFium, read it with an OCR engine.

Pure and synchronous like the other stages: it runs in a worker process. Pages are rendered
one at a time under the process-wide PDFium lock, and recognised with the lock released, so
a slow page never holds up PDFium work elsewhere in the process.
"""

from __future__ import annotations

import math
import re
import struct
import zlib
from typing import Any

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from lexbase.ingest.errors import CorruptFile
from lexbase.ingest.extractors.guards import open_pdf
from lexbase.ingest.limits import Limits
from lexbase.providers.ocr.base import OcrEngine

# Caps on one rendered page, whatever its declared size: a PDF can declare a page hundreds of
# inches wide, which at 300 dpi would be a multi-gigabyte bitmap. 40 Mpx (grey, one byte per
# pixel) holds an A3 or tabloid page at 300 dpi with room to spare; tesseract refuses an image
# over 32,767 px a side ("Image too large"), so a long, thin page is scaled down to fit.
MAX_PAGE_PIXELS = 40_000_000
MAX_PAGE_SIDE = 32_000
_POINTS_PER_INCH = 72
_METRES_PER_INCH = 0.0254

_LINE_ENDS = re.compile(r"\r\n?")
# Tesseract ends every page with a form feed, which downstream would read as a page break;
# PostgreSQL refuses NUL in text.
_STRAY = re.compile("[\x00\f]")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Bit depth 8, colour type 0 (grey), deflate, adaptive filtering, no interlace.
_GREY_8BIT = struct.pack(">BBBBB", 8, 0, 0, 0, 0)
# Rendered pages are mostly white: the fastest deflate level is already small, and the
# encoder's time counts against every page.
_DEFLATE_LEVEL = 1


def ocr_pages(
    pdf_bytes: bytes,
    pages: list[int],
    engine: OcrEngine,
    *,
    dpi: int = 300,
    timeout_per_page: float,
    limits: Limits | None = None,
) -> dict[int, str]:
    """OCR the listed 1-based pages; returns each page's text with "\\n" line ends.

    Raises the engine's `OcrError`s (`OcrTimeout` after `timeout_per_page` seconds) for the
    page that failed; the caller decides whether one bad page sinks the document.
    """
    limits = limits or Limits()
    texts: dict[int, str] = {}
    for page in pages:
        image = render_page_png(pdf_bytes, page, dpi=dpi, limits=limits)
        texts[page] = normalise(engine.recognize(image, timeout=timeout_per_page))
    return texts


def normalise(raw: str) -> str:
    return _STRAY.sub("", _LINE_ENDS.sub("\n", raw)).strip()


def render_page_png(pdf_bytes: bytes, page_number: int, *, dpi: int, limits: Limits) -> bytes:
    """One page as an 8-bit grey PNG at `dpi` (less if the page is huge), resolution recorded."""
    # The document is reopened per page so the lock is held only while PDFium renders;
    # opening parses little more than the cross-reference table.
    with open_pdf(pdf_bytes, limits) as document:
        if not 1 <= page_number <= len(document):
            raise ValueError(f"page {page_number} is not in a {len(document)}-page PDF")
        pixels, width, height, stride, scale = _render(document, page_number, dpi)
    return encode_png_grey(
        pixels, width, height, stride=stride, dpi=round(scale * _POINTS_PER_INCH)
    )


def _render(document: Any, page_number: int, dpi: int) -> tuple[bytes, int, int, int, float]:
    try:
        page = document[page_number - 1]
    except pdfium.PdfiumError:
        raise CorruptFile(f"Page {page_number} of the PDF is damaged and cannot be read") from None
    try:
        scale = _scale(page.get_width(), page.get_height(), dpi)
        bitmap = page.render(scale=scale, force_bitmap_format=pdfium_c.FPDFBitmap_Gray)
        try:
            # Copied out: the buffer belongs to the bitmap, which is freed before encoding.
            pixels = bytes(memoryview(bitmap.buffer).cast("B"))
            return pixels, bitmap.width, bitmap.height, bitmap.stride, scale
        finally:
            bitmap.close()
    except pdfium.PdfiumError:
        raise CorruptFile(f"Page {page_number} of the PDF is damaged and cannot be read") from None
    finally:
        page.close()


def _scale(width_pt: float, height_pt: float, dpi: int) -> float:
    area = max(width_pt * height_pt, 1.0)
    scale = min(
        dpi / _POINTS_PER_INCH,
        math.sqrt(MAX_PAGE_PIXELS / area),
        MAX_PAGE_SIDE / max(width_pt, height_pt, 1.0),
    )

    def too_big(scale: float) -> bool:
        # The bitmap PDFium gets has each side rounded up to a whole pixel.
        width, height = math.ceil(width_pt * scale), math.ceil(height_pt * scale)
        return width * height > MAX_PAGE_PIXELS or max(width, height) > MAX_PAGE_SIDE

    while too_big(scale):
        scale *= 0.999
    return scale


def encode_png_grey(
    pixels: bytes, width: int, height: int, *, stride: int | None = None, dpi: int
) -> bytes:
    """A minimal 8-bit greyscale PNG: Pillow is not a dependency, and tesseract reads PNG.

    `stride` is the length of one row in `pixels` (PDFium pads rows). The pHYs chunk carries
    the resolution, which tesseract uses to size its text models instead of guessing it.
    """
    stride = stride or width
    if stride < width or len(pixels) < stride * (height - 1) + width:
        raise ValueError("pixel buffer does not match width, height and stride")
    # Filter type 0 (none) before every row: filters would shrink the file but cost time.
    rows = b"".join(b"\x00" + pixels[row * stride : row * stride + width] for row in range(height))
    per_metre = round(dpi / _METRES_PER_INCH)
    return b"".join(
        [
            _PNG_SIGNATURE,
            _chunk(b"IHDR", struct.pack(">II", width, height) + _GREY_8BIT),
            _chunk(b"pHYs", struct.pack(">IIB", per_metre, per_metre, 1)),
            _chunk(b"IDAT", zlib.compress(rows, _DEFLATE_LEVEL)),
            _chunk(b"IEND", b""),
        ]
    )


def _chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(body, zlib.crc32(kind))
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)
