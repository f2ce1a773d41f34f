"""OCR engines behind the `OcrEngine` protocol, and the choice of one for this machine."""

from __future__ import annotations

from lexbase.providers.ocr.base import (
    OcrEngine,
    OcrError,
    OcrFailed,
    OcrTimeout,
    OcrUnavailable,
)
from lexbase.providers.ocr.rapid import RapidOcr
from lexbase.providers.ocr.tesseract import TesseractOcr


def get_ocr_engine() -> OcrEngine | None:
    """Tesseract when it is installed with its language data, else RapidOCR when its Python
    packages are (pip-only, so a machine without apt packages still reads scans), else None
    (pages stay unread)."""
    engines: tuple[type[TesseractOcr] | type[RapidOcr], ...] = (TesseractOcr, RapidOcr)
    for engine in engines:
        if not engine.available():
            continue
        try:
            return engine()
        except OcrUnavailable:
            # Removed or broken between the check and the start: same as never installed.
            continue
    return None


__all__ = [
    "OcrEngine",
    "OcrError",
    "OcrFailed",
    "OcrTimeout",
    "OcrUnavailable",
    "RapidOcr",
    "TesseractOcr",
    "get_ocr_engine",
]
