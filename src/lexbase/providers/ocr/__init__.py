"""OCR engines behind the `OcrEngine` protocol, and the choice of one for this machine."""

from __future__ import annotations

from lexbase.providers.ocr.base import (
    OcrEngine,
    OcrError,
    OcrFailed,
    OcrTimeout,
    OcrUnavailable,
)
from lexbase.providers.ocr.tesseract import TesseractOcr


def get_ocr_engine() -> OcrEngine | None:
    """Tesseract when it is installed with its language data, else None (pages stay unread)."""
    if not TesseractOcr.available():
        return None
    try:
        return TesseractOcr()
    except OcrUnavailable:
        # Removed or broken between the check and the start: same as never installed.
        return None


__all__ = [
    "OcrEngine",
    "OcrError",
    "OcrFailed",
    "OcrTimeout",
    "OcrUnavailable",
    "TesseractOcr",
    "get_ocr_engine",
]
