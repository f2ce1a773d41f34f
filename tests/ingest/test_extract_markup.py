"""HTML and RTF: markup stripped, structure kept as lines, hostile constructs neutralised."""

from __future__ import annotations

import time

import pytest

from lexbase.ingest.errors import CorruptFile
from lexbase.ingest.extract import extract
from lexbase.ingest.limits import Limits
from lexbase.ingest.sniff import detect
from lexbase.ingest.types import Detected, Extracted
from tests.ingest import hostile

HTML = Detected("html", "text/html")
RTF = Detected("rtf", "application/rtf")


def _html(data: bytes) -> Extracted:
    extracted = extract(data, HTML, Limits())
    hostile.assert_well_formed(extracted)
    assert len(extracted.pages) == 1
    assert extracted.extractor == "lxml"
    return extracted


def test_html_text_without_scripts_styles_or_templates() -> None:
    page = b"""<!DOCTYPE html>
<html><head><title>Smith v. Jones</title>
<style>p { color: red }</style><script>var secret = "tracking";</script></head>
<body>
  <noscript>Enable JavaScript</noscript><template><p>hidden template</p></template>
  <h1>Opinion   of the
      Court</h1>
  <p>Plaintiff&#8217;s motion is <b>GRANTED</b> &amp; costs awarded under &sect;&nbsp;1920.</p>
  <ul><li>First</li><li>Second</li></ul>
  <table><tr><td>Filed</td><td>2024-01-02</td></tr></table>
  Line one<br>Line two
  <!-- a comment -->
  <pre>  Exhibit A
    indented</pre>
</body></html>"""
    assert detect(page).kind == "html"
    text = _html(page).text
    for gone in ("tracking", "color", "Enable JavaScript", "hidden template", "comment"):
        assert gone not in text
    lines = text.split("\n")
    assert lines[:3] == ["Smith v. Jones", "", "Opinion of the Court"]
    assert "Plaintiff\u2019s motion is GRANTED & costs awarded under \u00a7 1920." in lines
    assert lines.index("First") + 1 == lines.index("Second")
    assert "Line one" in lines
    assert "Line two" in lines
    assert "Exhibit A" in lines
    assert "indented" in lines
    assert lines.index("Filed") + 1 == lines.index("2024-01-02")
    assert "\n\n\n" not in text
    assert text == text.strip()


def test_billion_laughs_is_not_expanded() -> None:
    payload = hostile.billion_laughs_html()
    started = time.perf_counter()
    extracted = _html(payload)
    assert time.perf_counter() - started < 2.0
    assert len(extracted.text) < 200
    assert "lollollol" not in extracted.text
    assert extracted.text.startswith("Before")
    assert extracted.text.endswith("after")
    assert "ENTITY" not in extracted.text  # the internal subset does not leak as text


def test_xhtml_with_encoding_declaration() -> None:
    page = (
        '<?xml version="1.0" encoding="windows-1252"?>\n'
        '<!DOCTYPE html><html xmlns="http://www.w3.org/1999/xhtml"><body>'
        "<p>\u201cQuoted\u201d holding</p></body></html>"
    ).encode("cp1252")
    extracted = _html(page)
    assert extracted.text == "\u201cQuoted\u201d holding"
    assert extracted.encoding == "cp1252"


def test_utf16_html() -> None:
    page = "<html><body><p>Arrêt de la Cour</p></body></html>".encode("utf-16")
    assert _html(page).text == "Arrêt de la Cour"


def _rtf(data: bytes) -> str:
    assert detect(data).kind == "rtf"
    extracted = extract(data, RTF, Limits())
    hostile.assert_well_formed(extracted)
    assert len(extracted.pages) == 1
    return extracted.text


def test_rtf_body_text_without_tables_of_fonts_styles_or_info() -> None:
    document = (
        rb"{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0\froman Times New Roman;}}"
        rb"{\colortbl;\red0\green0\blue0;}{\stylesheet{\s0 Normal;}}"
        rb"{\info{\title Secret title}{\author Clerk}}{\*\generator Msftedit 5.41;}"
        b"\r\n"
        rb"\pard\plain\f0\fs24 IN THE UNITED STATES DISTRICT COURT\par"
        b"\r\n"
        rb"The Court\rquote s \'93final\'94 order \emdash  affirmed.\par "
        rb"Caf\'e9 \u8212? dash and \u-10179?\u-8704? emoji\tab tabbed\line next\par"
        b"\n"
        rb"{\field{\*\fldinst HYPERLINK \"https://example.com\"}{\fldrslt linked text}}\par"
        rb"{\*\unknowndestination should vanish}"
        rb"{\pict\pngblip 89504e470d0a1a0a}"
        b"\n"
        rb"Braces \{ and \} and backslash \\ stay.\par}"
    )
    text = _rtf(document)
    assert text.split("\n") == [
        "IN THE UNITED STATES DISTRICT COURT",
        "The Court\u2019s \u201cfinal\u201d order \u2014 affirmed.",
        "Caf\u00e9 \u2014 dash and \U0001f600 emoji\ttabbed",
        "next",
        "linked text",
        "Braces { and } and backslash \\ stay.",
        "",
    ]


def test_rtf_binary_data_is_skipped() -> None:
    binary = bytes(range(256))
    document = rb"{\rtf1 Before {\*\blob\bin256 " + binary + rb"} after.\par}"
    assert _rtf(document) == "Before  after.\n"


def test_rtf_nesting_bomb_is_refused() -> None:
    with pytest.raises(CorruptFile):
        extract(b"{\\rtf1 " + b"{" * 100_000 + b"x" + b"}" * 100_000 + b"}", RTF, Limits())
