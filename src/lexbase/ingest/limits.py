"""Bounds on untrusted uploads; every extractor checks them before and while it works."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 50 * 1024 * 1024
    max_pages: int = 2_000
    max_decompressed_bytes: int = 200 * 1024 * 1024  # DOCX/zip members, summed
    max_zip_members: int = 2_000
    max_compression_ratio: int = 200  # per zip member
    max_text_chars: int = 20_000_000
