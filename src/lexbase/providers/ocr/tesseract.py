"""Tesseract through its command-line binary (Debian package `tesseract-ocr`).

The binary, not a Python binding, so no extra Python package is needed and a crash or a
runaway page costs one child process, which a timeout can kill without touching the worker.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

from lexbase.providers.ocr.base import OcrFailed, OcrTimeout, OcrUnavailable

BINARY = "tesseract"
LANGUAGE = "eng"
# Automatic page segmentation *with* orientation and script detection: on the reference scans
# it gives the same text as the default --psm 3 for ~0.25 s more CPU a page, and it also reads
# a page scanned upside down, which --psm 3 turns into garbage (CER 0.87 vs 0.005 measured).
# It needs the `osd` language data.
PAGE_SEGMENTATION = "1"
_REQUIRED_DATA = (LANGUAGE, "osd")
_PROBE_TIMEOUT = 10.0
_VERSION = re.compile(r"tesseract\s+v?(\d[\w.\-]*)", re.IGNORECASE)
_STDERR_TAIL = 500
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _environment() -> dict[str, str]:
    # OpenMP's default of one thread per core makes tesseract ~7x slower on a 2-core machine
    # (the threads spin against each other and against the other workers). A minimal
    # environment also keeps the worker's secrets out of a third-party process.
    env = {"PATH": os.environ.get("PATH", os.defpath), "OMP_THREAD_LIMIT": "1", "LC_ALL": "C"}
    if "TESSDATA_PREFIX" in os.environ:
        env["TESSDATA_PREFIX"] = os.environ["TESSDATA_PREFIX"]
    return env


def _probe(binary: str, *args: str) -> str:
    try:
        result = subprocess.run(  # noqa: S603 - fixed argument list, no shell
            [binary, *args],
            capture_output=True,
            timeout=_PROBE_TIMEOUT,
            env=_environment(),
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise OcrUnavailable(f"{binary} {' '.join(args)} could not run: {exc}") from None
    if result.returncode != 0:
        raise OcrUnavailable(f"{binary} {' '.join(args)} exited with {result.returncode}")
    # Tesseract 3 printed these to stderr, later versions to stdout.
    return (result.stdout + result.stderr).decode("utf-8", errors="replace")


class TesseractOcr:
    name = "tesseract"

    def __init__(self, binary: str | None = None) -> None:
        path = binary or shutil.which(BINARY)
        if path is None:
            raise OcrUnavailable(f"{BINARY} is not on PATH (Debian: apt-get install tesseract-ocr)")
        self.binary = path
        match = _VERSION.search(_probe(path, "--version"))
        if match is None:
            raise OcrUnavailable(f"{path} --version did not report a tesseract version")
        self.version = match.group(1)

    @classmethod
    def available(cls) -> bool:
        """True if the binary runs and has the language data `recognize` needs."""
        path = shutil.which(BINARY)
        if path is None:
            return False
        try:
            listing = _probe(path, "--list-langs")
        except OcrUnavailable:
            return False
        # The first line is a header ("List of available languages in ..."), then one per line.
        languages = {line.strip() for line in listing.splitlines()[1:]}
        return all(language in languages for language in _REQUIRED_DATA)

    def recognize(self, image_png: bytes, *, timeout: float) -> str:
        # Tesseract reads stdin that is not an image as a list of file names and OCRs those
        # files: bytes from anywhere else must never reach it.
        if not image_png.startswith(_PNG_SIGNATURE):
            raise OcrFailed("the image is not a PNG")
        command = [
            self.binary,
            "stdin",
            "stdout",
            "-l",
            LANGUAGE,
            "--psm",
            PAGE_SEGMENTATION,
        ]
        try:
            # On timeout, subprocess.run kills the child and reaps it before re-raising.
            result = subprocess.run(  # noqa: S603 - fixed argument list, no shell
                command,
                input=image_png,
                capture_output=True,
                timeout=timeout,
                env=_environment(),
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise OcrTimeout(f"{self.name} overran {timeout:g}s on one page") from None
        except OSError as exc:
            raise OcrUnavailable(f"{self.binary} could not start: {exc}") from None
        if result.returncode != 0:
            stderr = result.stderr.decode("utf-8", errors="replace").strip()[-_STDERR_TAIL:]
            raise OcrFailed(f"{self.name} exited with {result.returncode}: {stderr}")
        return result.stdout.decode("utf-8", errors="replace")
