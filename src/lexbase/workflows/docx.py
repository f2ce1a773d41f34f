"""A workflow report as a Word document: the same headings, points and numbered citations as
its Markdown, each citation with its document, offsets, page and exact quote."""

from __future__ import annotations

import io
import re
from typing import Any

from docx import Document

_NUMBERED = re.compile(r"^(\d+)\. (.*)$")
_EMPHASIS = re.compile(r"\*\*?([^*]+)\*\*?")


def report_docx(report: dict[str, Any]) -> bytes:
    document = Document()
    document.core_properties.title = report["title"]
    body = report["markdown"].split("\n## Sources\n")[0]
    for line in body.splitlines():
        text = _EMPHASIS.sub(r"\1", line.strip())
        if not text:
            continue
        if line.startswith("# "):
            document.add_heading(text[2:], level=0)
        elif line.startswith("## "):
            document.add_heading(text[3:], level=1)
        elif line.startswith("### "):
            document.add_heading(text[4:], level=2)
        elif line.startswith("- "):
            document.add_paragraph(text[2:], style="List Bullet")
        elif numbered := _NUMBERED.match(text):
            document.add_paragraph(numbered.group(2), style="List Number")
        else:
            document.add_paragraph(text)
    document.add_heading("Sources", level=1)
    for n, citation in enumerate(report["citations"], 1):
        page = f", page {citation['page']}" if citation.get("page") else ""
        paragraph = document.add_paragraph(
            f"[{n}] document {citation['document_id']}, characters {citation['start']} to "
            f"{citation['end']}{page}: "
        )
        paragraph.add_run(" ".join(citation["quote"].split())).italic = True
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
