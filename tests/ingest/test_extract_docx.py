"""DOCX body text in document order, zip bombs refused, and legacy .doc conversion plumbing."""

from __future__ import annotations

import io
import os
import stat
import time
import tracemalloc
import zipfile
from pathlib import Path

import docx
import pytest
from docx.oxml.ns import nsdecls
from docx.oxml.parser import parse_xml

from lexbase.ingest.errors import CorruptFile, DecompressionBomb, TextTooLong, UnsupportedFileType
from lexbase.ingest.extract import extract
from lexbase.ingest.extractors import doc as doc_extractor
from lexbase.ingest.limits import Limits
from lexbase.ingest.sniff import CONTENT_TYPES, detect, validate
from lexbase.ingest.types import Detected, Extracted
from tests.ingest import hostile

FILINGS = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "court-filings"
DOCX = Detected("docx", CONTENT_TYPES["docx"])
DOC = Detected("doc", CONTENT_TYPES["doc"])
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
VML = "urn:schemas-microsoft-com:vml"


def _extract(data: bytes) -> Extracted:
    extracted = extract(data, detect(data), Limits())
    hostile.assert_well_formed(extracted)
    assert [(s.page, s.start, s.end) for s in extracted.pages] == [(1, 0, len(extracted.text))]
    return extracted


def _sample_document() -> docx.document.Document:
    document = docx.Document()
    document.add_heading("MOTION TO DISMISS", level=1)
    document.add_paragraph("Defendant moves to dismiss.")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Plaintiff"
    table.cell(0, 1).text = "Defendant"
    merged = table.cell(1, 0).merge(table.cell(1, 1))
    merged.text = "Case No. 1:24-cv-00001"
    inner = table.cell(0, 1).add_table(rows=1, cols=1)
    inner.cell(0, 0).text = "Nested cell"
    document.add_heading("ARGUMENT", level=2)
    document.add_paragraph("First line").add_run().add_break()
    body = document.element.body
    section = body[-1]  # w:sectPr stays last
    # Tracked changes: inserted text counts, deleted text does not.
    section.addprevious(
        parse_xml(
            f"<w:p {nsdecls('w')}><w:r><w:t xml:space='preserve'>The claim </w:t></w:r>"
            "<w:ins w:id='1' w:author='a'><w:r><w:t>fails</w:t></w:r></w:ins>"
            "<w:del w:id='2' w:author='a'><w:r><w:delText>succeeds</w:delText></w:r></w:del>"
            "<w:r><w:tab/><w:t>.</w:t></w:r></w:p>"
        )
    )
    # A block-level content control.
    section.addprevious(
        parse_xml(
            f"<w:sdt {nsdecls('w')}><w:sdtContent><w:p><w:r><w:t>Signed by counsel</w:t>"
            "</w:r></w:p></w:sdtContent></w:sdt>"
        )
    )
    # A text box stored twice (DrawingML choice and VML fallback) must be read once.
    box = "<w:txbxContent><w:p><w:r><w:t>Boxed note</w:t></w:r></w:p></w:txbxContent>"
    section.addprevious(
        parse_xml(
            f"<w:p {nsdecls('w')} xmlns:mc='{MC}' xmlns:v='{VML}'>"
            "<w:r><w:t>Anchor</w:t><mc:AlternateContent>"
            f"<mc:Choice Requires='wps'><w:drawing>{box}</w:drawing></mc:Choice>"
            f"<mc:Fallback><w:pict><v:textbox>{box}</v:textbox></w:pict></mc:Fallback>"
            "</mc:AlternateContent></w:r></w:p>"
        )
    )
    return document


def test_paragraphs_tables_and_headings_in_body_order() -> None:
    extracted = _extract(hostile.docx_bytes(_sample_document()))
    assert extracted.extractor == "python-docx"
    assert extracted.extractor_version == "1.2.0"
    assert extracted.text.split("\n") == [
        "MOTION TO DISMISS",
        "Defendant moves to dismiss.",
        "Plaintiff",
        "Defendant",
        "Nested cell",
        "",  # the paragraph python-docx leaves after a nested table
        "Case No. 1:24-cv-00001",
        "ARGUMENT",
        "First line",
        "",
        "The claim fails\t.",
        "Signed by counsel",
        "Anchor",
        "Boxed note",
    ]


def test_real_docx_filing() -> None:
    data = (FILINGS / "word-docx.docx").read_bytes()
    extracted = _extract(data)
    assert len(extracted.text) > 10_000
    assert "Narrative Reason for Discharge" in extracted.text
    # Everything python-docx sees as a body paragraph is in our text, in the same order.
    paragraphs = [p.text for p in docx.Document(io.BytesIO(data)).paragraphs if p.text.strip()]
    position = 0
    for paragraph in paragraphs:
        position = extracted.text.index(paragraph, position) + len(paragraph)


@pytest.fixture(scope="module")
def zip_bomb() -> bytes:
    return hostile.docx_zip_bomb(210 * 1024 * 1024)


def test_zip_bomb_is_refused_before_python_docx_sees_it(zip_bomb: bytes) -> None:
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(DecompressionBomb):
            extract(zip_bomb, DOCX, Limits())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * 1024 * 1024
    assert time.perf_counter() - started < 1.0


def test_member_that_lies_about_its_size_is_caught_before_python_docx() -> None:
    # Declares 1,000 bytes (with a matching CRC) but inflates to 50 MiB. Its central
    # directory is innocent, so upload-time validation passes it; ZipFile.read would inflate
    # all 50 MiB before cutting to 1,000 bytes. Extraction must refuse it in flat memory.
    data = hostile.docx_lying_sizes(50 * 1024 * 1024, declared=1_000)
    validate(data, DOCX, Limits())
    tracemalloc.start()
    try:
        with pytest.raises(DecompressionBomb, match="more than it declares"):
            extract(data, DOCX, Limits())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * 1024 * 1024


def test_member_shorter_than_declared_is_corrupt() -> None:
    # Small enough that the declared ratio is not judged; only the stream gives it away.
    data = hostile.docx_lying_sizes(256 * 1024, declared=512 * 1024)
    with pytest.raises(CorruptFile, match="truncated"):
        extract(data, DOCX, Limits())


def test_damaged_docx_is_corrupt() -> None:
    data = hostile.docx_bytes()
    with pytest.raises(CorruptFile):
        extract(hostile.truncated(data, 0.5), DOCX, Limits())
    # A readable zip whose document part is not XML.
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(buffer, "w") as target:
        for item in source.infolist():
            payload = source.read(item)
            if item.filename == "word/document.xml":
                payload = b"<w:document><not-closed>"
            target.writestr(item, payload)
    with pytest.raises(CorruptFile):
        extract(buffer.getvalue(), DOCX, Limits())


def test_text_limit() -> None:
    with pytest.raises(TextTooLong, match="characters"):
        extract(hostile.docx_bytes(_sample_document()), DOCX, Limits(max_text_chars=50))


def test_legacy_doc_without_a_converter_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    data = (FILINGS / "word-doc.doc").read_bytes()
    assert detect(data, "word-doc.doc") == DOC
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(UnsupportedFileType, match="need LibreOffice on the server"):
        extract(data, DOC, Limits())


def _fake_binary(directory: Path, name: str, script: str) -> None:
    path = directory / name
    # PATH is narrowed to the stand-ins for the code under test; the script needs the usual.
    path.write_text("#!/bin/sh\nPATH=/usr/bin:/bin\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def test_legacy_doc_through_antiword(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # A stand-in for antiword (not installed here) that checks it was handed a real file.
    _fake_binary(
        tmp_path,
        "antiword",
        'if [ $# -eq 0 ]; then echo "Name: antiword" >&2; echo "Version: 0.37" >&2; exit 1; fi\n'
        'for last; do :; done\n[ -s "$last" ] || exit 2\n'
        "printf 'ORDER\\n\\nThe motion is denied.\\n'\n",
    )
    monkeypatch.setenv("PATH", str(tmp_path))
    extracted = extract((FILINGS / "word-doc.doc").read_bytes(), DOC, Limits())
    hostile.assert_well_formed(extracted)
    assert extracted.text == "ORDER\n\nThe motion is denied.\n"
    assert (extracted.extractor, extracted.extractor_version) == ("antiword", "0.37")


def _libreoffice_output() -> bytes:
    """A DOCX signed the way LibreOffice signs its output."""
    document = docx.Document()
    document.add_paragraph("Converted by LibreOffice")
    original = hostile.docx_bytes(document)
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(original)) as source, zipfile.ZipFile(buffer, "w") as target:
        for item in source.infolist():
            payload = source.read(item)
            if item.filename == "docProps/app.xml":
                payload = (
                    b'<?xml version="1.0"?><Properties><Application>'
                    b"LibreOffice/7.6.4.1$Linux_X86_64 LibreOffice_project/e19e1</Application>"
                    b"</Properties>"
                )
            target.writestr(item, payload)
    return buffer.getvalue()


def test_legacy_doc_through_libreoffice(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    converted = tmp_path / "converted.docx"
    converted.write_bytes(_libreoffice_output())
    # The stand-in honours --outdir and names the output after the input, as soffice does.
    _fake_binary(
        tmp_path,
        "soffice",
        'out=""; prev=""\nfor arg; do [ "$prev" = "--outdir" ] && out="$arg"; prev="$arg"; done\n'
        'case "$*" in *--headless*--convert-to\\ docx*) ;; *) exit 3;; esac\n'
        f'mkdir -p "$out" && cp "{converted}" "$out/input.docx"\n',
    )
    monkeypatch.setenv("PATH", str(tmp_path))
    extracted = extract((FILINGS / "word-doc.doc").read_bytes(), DOC, Limits())
    assert extracted.text == "Converted by LibreOffice"
    assert (extracted.extractor, extracted.extractor_version) == ("libreoffice", "7.6.4.1")


def test_converter_that_hangs_is_killed_with_its_children(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pid_file = tmp_path / "child.pid"
    # Like soffice, the stand-in forks a worker; both must die at the time limit.
    _fake_binary(tmp_path, "soffice", f'sleep 60 &\necho $! > "{pid_file}"\nwait\n')
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(doc_extractor, "CONVERT_TIMEOUT_SECONDS", 1)
    started = time.perf_counter()
    with pytest.raises(CorruptFile, match="in time"):
        extract(b"not really a doc", DOC, Limits())
    assert time.perf_counter() - started < 10
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _alive(child):
        time.sleep(0.05)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    # A killed child not yet reaped by its new parent is a zombie: dead for our purposes.
    return not (status.exists() and "\nState:\tZ" in status.read_text())
