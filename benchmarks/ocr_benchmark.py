"""OCR speed and accuracy on the 12 reference page scans; prints the figures.

    .venv/bin/python benchmarks/ocr_benchmark.py             # all 12 pages, both paths
    .venv/bin/python benchmarks/ocr_benchmark.py --pages 4   # the first 4 only
    .venv/bin/python benchmarks/ocr_benchmark.py --no-omp-limit-sample 2
                                                             # + 2 pages without OMP_THREAD_LIMIT
    .venv/bin/python benchmarks/ocr_benchmark.py --engine rapidocr --pages 4
                                                             # RapidOCR, pipeline path only

Two paths, one page at a time as a worker runs them:
- pipeline: the 12 PNGs wrapped losslessly in one image-only PDF (their IDAT streams become
  FlateDecode images with the PNG predictor, so no pixel changes), each page rendered by
  lexbase.ingest.ocr at 300 dpi and read by TesseractOcr — what run_pipeline does;
- cli: `tesseract <png> stdout -l eng --psm 1` on the original PNG files, for comparison.
CER is against CAP's ALTO text (itself OCR, so it has a floor of its own), whitespace collapsed
and quotes/dashes unified, by the same measure as tests/ingest/test_ocr.py.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import struct
import subprocess
import time
from pathlib import Path

from lexbase.ingest.limits import Limits
from lexbase.ingest.ocr import normalise, render_page_png
from lexbase.providers.ocr import OcrEngine, RapidOcr, TesseractOcr
from lexbase.providers.ocr.tesseract import LANGUAGE, PAGE_SEGMENTATION

SCANS = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "scans"
TIMEOUT = 300.0
_TYPOGRAPHY = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2014": "-",
        "\u2013": "-",
        "\u00ad": "",
    }
)


def levenshtein(a: str, b: str) -> int:
    """Myers/Hyyrö bit-vector edit distance (a copy of the test suite's)."""
    if not a or not b:
        return len(a) + len(b)
    mask, last = (1 << len(a)) - 1, 1 << (len(a) - 1)
    positions: dict[str, int] = {}
    for index, char in enumerate(a):
        positions[char] = positions.get(char, 0) | (1 << index)
    plus, minus, score = mask, 0, len(a)
    for char in b:
        equal = positions.get(char, 0)
        vertical = equal | minus
        horizontal = (((equal & plus) + plus) ^ plus) | equal
        h_plus = minus | ~(horizontal | plus)
        h_minus = plus & horizontal
        if h_plus & last:
            score += 1
        elif h_minus & last:
            score -= 1
        h_plus = (h_plus << 1) | 1
        h_minus <<= 1
        plus = (h_minus | ~(vertical | h_plus)) & mask
        minus = h_plus & vertical & mask
    return score


def cer(reference: str, hypothesis: str) -> float:
    ref = " ".join(reference.translate(_TYPOGRAPHY).split())
    hyp = " ".join(hypothesis.translate(_TYPOGRAPHY).split())
    return levenshtein(ref, hyp) / max(len(ref), 1)


def _png_image(png: bytes) -> tuple[int, int, int, bytes]:
    """Width, height, bit depth and the concatenated IDAT data of a non-interlaced grey PNG."""
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", png[16:29])
    if colour != 0 or interlace != 0:
        raise ValueError("only non-interlaced greyscale PNGs can be embedded as they are")
    idat, offset = bytearray(), 8
    while offset < len(png):
        (length,) = struct.unpack(">I", png[offset : offset + 4])
        if png[offset + 4 : offset + 8] == b"IDAT":
            idat += png[offset + 8 : offset + 8 + length]
        offset += 12 + length
    return width, height, depth, bytes(idat)


def image_pdf(pngs: list[bytes], dpi: int = 300) -> bytes:
    """An image-only PDF, one page per PNG at its own resolution, pixels untouched."""
    count = len(pngs)
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>"
        % (b" ".join(b"%d 0 R" % (3 + 3 * i) for i in range(count)), count),
    ]
    for index, png in enumerate(pngs):
        width, height, depth, idat = _png_image(png)
        page_w, page_h = width * 72 / dpi, height * 72 / dpi
        content = b"q %.3f 0 0 %.3f 0 0 cm /Im0 Do Q" % (page_w, page_h)
        stream, image = 4 + 3 * index, 5 + 3 * index
        objects += [
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.3f %.3f] /Contents %d 0 R "
            b"/Resources << /XObject << /Im0 %d 0 R >> >> >>" % (page_w, page_h, stream, image),
            b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
            b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "
            b"/BitsPerComponent %d /Filter /FlateDecode /DecodeParms << /Predictor 15 "
            b"/Colors 1 /BitsPerComponent %d /Columns %d >> /Length %d >>\nstream\n"
            % (width, height, depth, depth, width, len(idat))
            + idat
            + b"\nendstream",
        ]
    out = bytearray(b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def cli(png: Path, env: dict[str, str]) -> tuple[str, float]:
    command = ["tesseract", str(png), "stdout", "-l", LANGUAGE, "--psm", PAGE_SEGMENTATION]
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, env=env, check=True, timeout=TIMEOUT)  # noqa: S603
    return result.stdout.decode(), time.perf_counter() - started


def summary(label: str, seconds: list[float], rates: list[float]) -> None:
    print(
        f"  {label:<34} {statistics.mean(seconds):6.2f} s/page (median "
        f"{statistics.median(seconds):.2f}, max {max(seconds):.2f})   CER mean "
        f"{statistics.mean(rates):.4f} median {statistics.median(rates):.4f} "
        f"max {max(rates):.4f}"
    )


def pipeline(
    engine: OcrEngine, pdf: bytes, references: list[str]
) -> tuple[list[float], list[float], list[float]]:
    """Render each page as run_pipeline does and recognise it: seconds and CER per page."""
    render_s, recognise_s, rates = [], [], []
    for number, reference in enumerate(references, start=1):
        started = time.perf_counter()
        image = render_page_png(pdf, number, dpi=300, limits=Limits())
        rendered = time.perf_counter()
        text = normalise(engine.recognize(image, timeout=TIMEOUT))
        render_s.append(rendered - started)
        recognise_s.append(time.perf_counter() - rendered)
        rates.append(cer(reference, text))
    return render_s, recognise_s, rates


def rapidocr(count: int) -> None:
    """The pipeline path with RapidOCR (the fallback engine); the model load is timed apart."""
    if not RapidOcr.available():
        raise SystemExit("rapidocr and onnxruntime are not installed (pip install -e .)")
    started = time.perf_counter()
    engine = RapidOcr()
    load_s = time.perf_counter() - started
    pages = sorted(SCANS.glob("*.png"))[:count]
    references = [page.with_suffix(".txt").read_text() for page in pages]
    pdf = image_pdf([page.read_bytes() for page in pages])
    load = os.getloadavg()
    print(
        f"OCR benchmark: rapidocr {engine.version} (PP-OCRv6 small, 1 thread), model load "
        f"{load_s:.2f} s, {len(pages)} pages at 300 dpi; {platform.python_version()}, "
        f"{os.cpu_count()} CPUs (2-core shared VM), load average {load[0]:.2f} at start"
    )
    render_s, recognise_s, rates = pipeline(engine, pdf, references)
    print("per page (render s, recognise s, pipeline CER):")
    for index, page in enumerate(pages):
        print(f"  {page.stem}  {render_s[index]:5.2f} {recognise_s[index]:5.2f} {rates[index]:.4f}")
    print("summary:")
    total = [r + o for r, o in zip(render_s, recognise_s, strict=True)]
    summary("pipeline (render + recognise)", total, rates)
    print(f"load average at end {os.getloadavg()[0]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=12)
    parser.add_argument("--no-omp-limit-sample", type=int, default=0, metavar="N")
    parser.add_argument("--engine", choices=["tesseract", "rapidocr"], default="tesseract")
    args = parser.parse_args()
    if args.engine == "rapidocr":
        rapidocr(args.pages)
        return

    if not TesseractOcr.available():
        raise SystemExit(
            "tesseract with eng+osd data is not installed (apt-get install tesseract-ocr)"
        )
    engine = TesseractOcr()
    pages = sorted(SCANS.glob("*.png"))[: args.pages]
    references = [page.with_suffix(".txt").read_text() for page in pages]
    pdf = image_pdf([page.read_bytes() for page in pages])
    load = os.getloadavg()
    print(
        f"OCR benchmark: tesseract {engine.version}, --psm {PAGE_SEGMENTATION}, "
        f"OMP_THREAD_LIMIT=1, {len(pages)} pages at 300 dpi; {platform.python_version()}, "
        f"{os.cpu_count()} CPUs (2-core shared VM), load average {load[0]:.2f} at start"
    )

    render_s, recognise_s, pipeline_rates = pipeline(engine, pdf, references)

    env = {"PATH": os.environ.get("PATH", os.defpath), "OMP_THREAD_LIMIT": "1", "LC_ALL": "C"}
    cli_s, cli_rates = [], []
    for page, reference in zip(pages, references, strict=True):
        text, seconds = cli(page, env)
        cli_s.append(seconds)
        cli_rates.append(cer(reference, text))

    print("per page (render s, recognise s, pipeline CER | cli s, cli CER):")
    for index, page in enumerate(pages):
        print(
            f"  {page.stem}  {render_s[index]:5.2f} {recognise_s[index]:5.2f} "
            f"{pipeline_rates[index]:.4f} | {cli_s[index]:5.2f} {cli_rates[index]:.4f}"
        )
    print("summary:")
    total = [r + o for r, o in zip(render_s, recognise_s, strict=True)]
    summary("pipeline (render + recognise)", total, pipeline_rates)
    print(f"    of which render to PNG: {statistics.mean(render_s):.3f} s/page")
    summary("bare tesseract CLI on the PNG", cli_s, cli_rates)

    if args.no_omp_limit_sample:
        unlimited = {k: v for k, v in env.items() if k != "OMP_THREAD_LIMIT"}
        sample = pages[: args.no_omp_limit_sample]
        unlimited_s = [cli(page, unlimited)[1] for page in sample]
        limited = statistics.mean(cli_s[: len(sample)])
        print(
            f"  CLI without OMP_THREAD_LIMIT, {len(sample)} pages: "
            f"{statistics.mean(unlimited_s):.2f} s/page vs {limited:.2f} with it"
        )
    print(f"load average at end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
