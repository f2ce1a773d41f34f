"""The OCR engine interface: one page image in, its text out.

Tesseract when installed; RapidOCR (models in its wheel, pip-only) when it is not.
"""

from __future__ import annotations

from typing import Protocol


class OcrError(RuntimeError):
    """An engine could not produce text for one image."""


class OcrTimeout(OcrError):
    """The engine overran its time for one image and was stopped."""


class OcrFailed(OcrError):
    """The engine ran but reported failure (bad image, missing language data, out of memory)."""


class OcrUnavailable(OcrError):
    """The engine is not installed or cannot start on this machine."""


class OcrEngine(Protocol):
    name: str
    version: str

    def recognize(self, image_png: bytes, *, timeout: float) -> str:
        """Return the text of a PNG page image, raising `OcrTimeout` after `timeout` seconds."""
        ...
