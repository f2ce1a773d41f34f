"""Legacy Word (.doc) by an external converter, when the server has one.

LibreOffice is preferred (maintained, and its DOCX output keeps tables and Unicode): it
converts to DOCX, which then goes through the DOCX extractor and its zip checks. antiword is
the fallback (plain text, Word 97-2003 only). With neither on PATH, .doc is refused.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import signal
import subprocess
import tempfile
import zipfile
from pathlib import Path

from lexbase.ingest.errors import CorruptFile, NoDocConverter
from lexbase.ingest.extractors.common import check_text_size, single_page
from lexbase.ingest.extractors.docx import extract_docx
from lexbase.ingest.limits import Limits
from lexbase.ingest.types import Extracted

CONVERT_TIMEOUT_SECONDS = 60
_APPLICATION = re.compile(rb"<Application>[^<]*?/([\d.]+)")
_ANTIWORD_VERSION = re.compile(rb"Version:\s*([\w.]+)")


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    """Run a converter with a hard time limit, killing everything it started on timeout.

    soffice forks soffice.bin, which a plain kill of the first process would leave behind,
    so the converter gets its own process group and the whole group is killed.
    """
    # The arguments are an absolute binary path from shutil.which, fixed flags and a path
    # this module created; no shell is involved.
    with subprocess.Popen(  # noqa: S603
        args,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    ) as process:
        try:
            stdout, stderr = process.communicate(timeout=CONVERT_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise CorruptFile("The .doc file could not be converted in time") from None
    return subprocess.CompletedProcess(args, process.returncode, stdout, stderr)


def _with_libreoffice(binary: str, data: bytes, limits: Limits) -> Extracted:
    with tempfile.TemporaryDirectory(prefix="lexbase-doc-") as tmp:
        work = Path(tmp)
        source = work / "input.doc"
        source.write_bytes(data)
        # A private profile per run: concurrent conversions sharing one profile lock each
        # other out, and nothing of an earlier document lingers in it.
        profile = (work / "profile").as_uri()
        result = _run(
            [
                binary,
                f"-env:UserInstallation={profile}",
                "--headless",
                "--norestore",
                "--nolockcheck",
                "--convert-to",
                "docx",
                "--outdir",
                str(work / "out"),
                str(source),
            ],
            work,
        )
        converted = work / "out" / "input.docx"
        if result.returncode != 0 or not converted.is_file():
            raise CorruptFile("The .doc file could not be converted")
        docx_bytes = converted.read_bytes()
    extracted = extract_docx(docx_bytes, limits)
    return Extracted(
        text=extracted.text,
        pages=extracted.pages,
        extractor="libreoffice",
        extractor_version=_libreoffice_version(docx_bytes),
    )


def _libreoffice_version(docx_bytes: bytes) -> str:
    # LibreOffice signs its output ("LibreOffice/7.6.4.1$Linux_X86_64 ..."); reading that
    # back avoids a second, slow start of soffice just to ask for --version.
    try:
        with zipfile.ZipFile(io.BytesIO(docx_bytes)) as archive:
            app = archive.read("docProps/app.xml")
    except (KeyError, zipfile.BadZipFile):
        return "unknown"
    match = _APPLICATION.search(app)
    return match.group(1).decode("ascii") if match else "unknown"


def _with_antiword(binary: str, data: bytes, limits: Limits) -> Extracted:
    with tempfile.TemporaryDirectory(prefix="lexbase-doc-") as tmp:
        work = Path(tmp)
        source = work / "input.doc"
        source.write_bytes(data)
        # -m UTF-8.txt: output UTF-8 rather than Latin-1; -w 0: do not re-wrap lines.
        result = _run([binary, "-m", "UTF-8.txt", "-w", "0", str(source)], work)
        if result.returncode != 0:
            raise CorruptFile("The .doc file could not be converted")
        usage = _run([binary], work)
    # PostgreSQL refuses NUL in text, and a converter's output is not to be trusted on that.
    text = result.stdout.decode("utf-8", errors="replace").replace("\x00", "")
    check_text_size(len(text), limits.max_text_chars)
    match = _ANTIWORD_VERSION.search(usage.stdout + usage.stderr)
    version = match.group(1).decode("ascii") if match else "unknown"
    return single_page(text, "antiword", version)


def extract_doc(data: bytes, limits: Limits) -> Extracted:
    for name in ("soffice", "libreoffice"):
        binary = shutil.which(name)
        if binary is not None:
            return _with_libreoffice(binary, data, limits)
    antiword = shutil.which("antiword")
    if antiword is not None:
        return _with_antiword(antiword, data, limits)
    raise NoDocConverter()
