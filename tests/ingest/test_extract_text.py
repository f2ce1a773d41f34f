"""Plain text is decoded exactly: the extracted text is the file's text, offsets and all."""

from __future__ import annotations

import pytest

from lexbase.ingest.errors import NotText, TextTooLong
from lexbase.ingest.extract import extract
from lexbase.ingest.limits import Limits
from lexbase.ingest.sniff import detect
from lexbase.ingest.types import Detected, Extracted
from tests.ingest import hostile

TEXT = Detected("text", "text/plain")
MEMO = (
    "MEMORANDUM\r\n\r\n"
    "The Court\u2019s \u201cfinal\u201d order \u2014 entered under \u00a7 1983 \u2014 affirmed.\r\n"
    "\tSee Roe v. Wade, 410 U.S. 113 (1973).\r\n"
)


def _extract(data: bytes) -> Extracted:
    extracted = extract(data, detect(data, "memo.txt"), Limits())
    hostile.assert_well_formed(extracted)
    assert extracted.encoding is not None
    # The recorded encoding reproduces the text from the original bytes.
    assert data.decode(extracted.encoding) == extracted.text
    return extracted


@pytest.mark.parametrize(
    ("original", "codec", "recorded"),
    [
        (MEMO, "utf-8", "utf-8"),
        (MEMO, "utf-8-sig", "utf-8-sig"),
        (MEMO, "utf-16", "utf-16"),
        (MEMO * 3, "utf-16-le", "utf_16_le"),
        (MEMO, "utf-32", "utf-32"),
        # Smart quotes and dashes are Windows-1252 bytes 0x91-0x97.
        (MEMO * 3, "cp1252", "cp1252"),
        # Latin-1 and Windows-1252 agree on these characters; ñ and ã are the ones a wrong
        # guess (cp1250) would turn into ń and ă.
        ("Señor Müller's brief, filed in São Paulo, cites Art. 5º.\n", "latin-1", "cp1252"),
        (
            "La défense a présenté ses observations ; le juge a rejeté la requête.\n" * 4,
            "latin-1",
            "cp1252",
        ),
        ("Sąd Najwyższy orzekł, że żądanie jest bezzasadne. Łódź, Gdańsk.\n", "cp1250", "cp1250"),
    ],
    ids=lambda value: value if isinstance(value, str) and len(value) < 12 else "",
)
def test_text_round_trips_exactly(original: str, codec: str, recorded: str) -> None:
    extracted = _extract(original.encode(codec))
    assert extracted.text == original
    assert extracted.encoding == recorded
    assert extracted.pages[0].start == 0
    assert extracted.pages[-1].end == len(original)


def test_offsets_index_the_original_characters() -> None:
    extracted = _extract(MEMO.encode("utf-16"))
    start = MEMO.index("410 U.S. 113")
    assert extracted.text[start : start + len("410 U.S. 113")] == "410 U.S. 113"
    assert "\r\n" in extracted.text  # line ends are the file's, not normalised


def test_form_feeds_delimit_pages() -> None:
    original = "Page one text.\n\fPage two text.\n\fPage three.\n"
    extracted = _extract(original.encode())
    assert [extracted.text[s.start : s.end] for s in extracted.pages] == [
        "Page one text.\n",
        "Page two text.\n",
        "Page three.\n",
    ]
    assert extracted.pages_without_text == []


def test_without_form_feeds_text_is_one_page() -> None:
    extracted = _extract(b"Just one page.\n")
    assert len(extracted.pages) == 1


def test_binary_named_txt_is_not_text() -> None:
    for data in (hostile.binary_garbage(), bytes(range(256)) * 40, hostile.elf_executable()):
        with pytest.raises(NotText):
            extract(data, TEXT, Limits())


def test_nul_bytes_or_control_noise_are_not_text() -> None:
    with pytest.raises(NotText):
        extract(b"Looks like text\x00 but is not" * 10, TEXT, Limits())
    with pytest.raises(NotText):
        extract(b"abc\x01\x02\x03\x04\x05\x06\x07\x08" * 50, TEXT, Limits())


def test_bom_that_does_not_decode_is_not_text() -> None:
    with pytest.raises(NotText):
        extract(b"\xef\xbb\xbfValid start \xff\xfe\xfd broken", TEXT, Limits())


def test_text_limit() -> None:
    with pytest.raises(TextTooLong):
        extract(b"x" * 1001, TEXT, Limits(max_text_chars=1000))
    assert extract(b"x" * 1000, TEXT, Limits(max_text_chars=1000)).text == "x" * 1000
