"""RapidOCR (PaddleOCR's PP-OCR models run by ONNX Runtime): the engine when Tesseract is absent.

Everything comes from PyPI: `rapidocr` 3.10.0 ships its default models (PP-OCRv6 small text
detection and recognition) inside the wheel and uses OpenCV's headless build, which needs no
system libraries (the non-headless `opencv-python` that `rapidocr-onnxruntime` 1.4.4 requires
links libGL and GLib from apt). The model files are passed by path, so rapidocr's download code
is never reached, and workers deny network access anyway.

Unlike the Tesseract binary this runs inside the worker process. The model is loaded once per
process and reused. The per-page time budget is enforced by ONNX Runtime itself: every
inference of a page runs with one `RunOptions` whose `terminate` flag a timer sets when the
budget runs out, which stops the running inference between two operators (milliseconds) and
refuses any later one; the Python steps between inferences (image decoding, box
post-processing) are bounded by the image size cap and are not interrupted.

Workers run under an address-space cap (RLIMIT_AS, 1536 MB by default). With rapidocr's
defaults (detection at up to 2000 px, six lines recognised per batch) and glibc's (a 64 MB
arena per allocating thread) the first page peaked at 1.53 GB and every later page of the
document failed with bad_alloc. Detection at 1280 px, one line per batch and at most two malloc
arenas (`_fit_malloc`) peak at 1.2 GB over the 12 reference scans and 4 scanned filings in a
capped worker, read as well, and are faster (~4 s a page instead of ~6).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib.metadata
import importlib.util
import resource
import statistics
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lexbase.providers.ocr.base import OcrFailed, OcrTimeout, OcrUnavailable

PACKAGE = "rapidocr"
# The models in the rapidocr 3.10.0 wheel; the classifier of upside-down lines is not used.
_MODELS = {"Det": "PP-OCRv6_det_small.onnx", "Rec": "PP-OCRv6_rec_small.onnx"}
# rapidocr scales a page down to this longest side before detection (its own default), and
# crops the lines it recognises from that smaller image. Scaling here, with area averaging,
# reads as well and keeps a 40 Mpx page from being copied at full size three times over.
MAX_SIDE = 2000
# Text detection runs on the page scaled to this longest side (PaddleOCR's own default is 960);
# boxes are mapped back and lines cropped from the MAX_SIDE image. 2000 reads no better
# (CER 0.0078/0.0041/0.0004 vs 0.0083/0.0036/0.0004) and needs far more memory.
DETECT_SIDE = 1280
# Recognition confidence (mean over characters) below which a page is read again turned 180°:
# upright pages score 0.98-0.99 (reference scans, scanned filings), upside down about 0.65.
# rapidocr's per-line orientation classifier garbles a line or two of most upright pages (mean
# CER 0.016-0.028 with it vs 0.004 without), so orientation is decided for the whole page.
UPSIDE_DOWN_BELOW = 0.85
# A gap between two lines taller than this share of the median line height starts a new block
# (a blank line in the text), as tesseract separates blocks.
BLOCK_GAP = 0.6
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# glibc mallopt parameter (malloc.h).
_M_ARENA_MAX = -8
_ERROR_TAIL = 500

_load_lock = threading.Lock()
_model: _Model | None = None


def _package_dir() -> Path | None:
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _fit_malloc() -> None:
    """At most two malloc arenas: glibc reserves 64 MB of address space for each thread that
    allocates (up to 8 per core), which cost ~240 MB of the cap in a worker reading pages.

    Process-wide, so only where an address-space cap makes it matter (the workers), and on
    glibc only. (Mapping every block of 128 KiB or more on its own also kept the address space
    down, but doubled the time a page, all of it in page faults.)
    """
    if (
        sys.platform != "linux"
        or resource.getrlimit(resource.RLIMIT_AS)[0] == resource.RLIM_INFINITY
    ):
        return
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc
        return
    mallopt(_M_ARENA_MAX, 2)


class _Cancellable:
    """An ONNX Runtime session whose every run uses the current page's `RunOptions`."""

    def __init__(self, session: Any, model: _Model) -> None:
        self._session = session
        self._model = model

    def run(self, output_names: Any, input_feed: Any, run_options: Any = None) -> Any:
        options = self._model.run_options
        if options is not None and options.terminate:
            raise OcrTimeout("the page's time budget ran out")
        return self._session.run(output_names, input_feed, options)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)


class _Model:
    """The loaded rapidocr pipeline; one per process, used by one page at a time."""

    def __init__(self) -> None:
        package = _package_dir()
        if package is None:
            raise OcrUnavailable(f"{PACKAGE} is not installed (pip install {PACKAGE})")
        paths = {stage: package / "models" / name for stage, name in _MODELS.items()}
        missing = [str(path) for path in paths.values() if not path.is_file()]
        if missing:
            raise OcrUnavailable(f"{PACKAGE} model files are missing: {', '.join(missing)}")
        try:
            import cv2
            import onnxruntime
            from rapidocr import RapidOCR
        except ImportError as exc:
            raise OcrUnavailable(f"{PACKAGE} cannot be imported: {exc}") from None

        # Telemetry is off on Linux builds anyway; this makes sure on any build.
        if hasattr(onnxruntime, "disable_telemetry_events"):
            onnxruntime.disable_telemetry_events()
        # The service runs several single-threaded workers: more threads would fight them.
        cv2.setNumThreads(1)
        _fit_malloc()
        self.cv2 = cv2
        self.onnxruntime = onnxruntime
        self.lock = threading.Lock()
        self.run_options: Any = None
        params: dict[str, Any] = {
            "Global.log_level": "error",  # rapidocr logs a warning for every empty page
            "Global.use_cls": False,
            "Global.max_side_len": MAX_SIDE,
            "Det.limit_type": "max",
            "Det.limit_side_len": DETECT_SIDE,
            # One line at a time: a batch pads every line to the widest, costing memory and
            # time (4.8 vs 5.9 s a page) for nothing on a single thread.
            "Rec.rec_batch_num": 1,
            "EngineConfig.onnxruntime.intra_op_num_threads": 1,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            **{f"{stage}.model_path": str(path) for stage, path in paths.items()},
        }
        try:
            engine: Any = RapidOCR(params=params)
            # rapidocr loads each stage on first use; loading here keeps that out of the first
            # page's time and lets every session be wrapped for cancellation.
            for stage in (engine._load_det_model(), engine._load_rec_model()):
                stage.session.session = _Cancellable(stage.session.session, self)
        except (OSError, RuntimeError, ValueError, AttributeError) as exc:
            raise OcrUnavailable(f"{PACKAGE} could not load its models: {exc}") from None
        self.engine = engine

    def read(self, image: Any, run_options: Any) -> tuple[list[Any], list[str], list[float]]:
        self.run_options = run_options
        try:
            result = self.engine(image)
        finally:
            self.run_options = None
        boxes, texts, scores = result.boxes, result.txts, result.scores
        if boxes is None or texts is None or scores is None:  # nothing on the page
            return [], [], []
        return list(boxes), list(texts), [float(score) for score in scores]


def _load() -> _Model:
    global _model
    with _load_lock:
        if _model is None:
            _model = _Model()
        return _model


@dataclass(frozen=True)
class _Box:
    text: str
    top: float
    bottom: float
    left: float

    @property
    def middle(self) -> float:
        return (self.top + self.bottom) / 2


def reading_order(boxes: Sequence[Any], texts: Sequence[str]) -> str:
    """Join recognised boxes top to bottom, and left to right within a line.

    `boxes` are quadrilaterals (four x, y points) as rapidocr returns them. Boxes whose
    vertical middle falls within a line's extent share that line, joined by a space; lines are
    joined by newlines, with a blank line where the gap above a line is a block break.
    """
    items = []
    for box, text in zip(boxes, texts, strict=True):
        if not text.strip():
            continue
        xs = [float(point[0]) for point in box]
        ys = [float(point[1]) for point in box]
        items.append(_Box(text.strip(), min(ys), max(ys), min(xs)))
    lines: list[list[_Box]] = []
    for item in sorted(items, key=lambda b: (b.middle, b.left)):
        line = lines[-1] if lines else None
        if line is not None and min(b.top for b in line) <= item.middle <= max(
            b.bottom for b in line
        ):
            line.append(item)
        else:
            lines.append([item])
    if not lines:
        return ""
    height = statistics.median(b.bottom - b.top for line in lines for b in line)
    parts: list[str] = []
    previous_bottom: float | None = None
    for line in lines:
        top = min(b.top for b in line)
        if previous_bottom is not None:
            parts.append("\n\n" if top - previous_bottom > BLOCK_GAP * height else "\n")
        parts.append(" ".join(b.text for b in sorted(line, key=lambda b: b.left)))
        previous_bottom = max(b.bottom for b in line)
    return "".join(parts)


def _confidence(texts: Sequence[str], scores: Sequence[float]) -> float:
    """Mean recognition score weighted by characters; 0 when nothing was read."""
    weights = [len(text) for text in texts]
    total = sum(weights)
    if total == 0:
        return 0.0
    return sum(w * s for w, s in zip(weights, scores, strict=True)) / total


class RapidOcr:
    name = "rapidocr"

    def __init__(self) -> None:
        if not self.available():
            raise OcrUnavailable(
                f"{PACKAGE} with onnxruntime and its bundled models is not installed"
            )
        self.version = importlib.metadata.version(PACKAGE)
        self._model = _load()

    @classmethod
    def available(cls) -> bool:
        """True if rapidocr, onnxruntime and OpenCV are installed and the models are in place
        (nothing is imported or loaded)."""
        package = _package_dir()
        if package is None:
            return False
        if any(importlib.util.find_spec(name) is None for name in ("onnxruntime", "cv2")):
            return False
        return all((package / "models" / name).is_file() for name in _MODELS.values())

    def recognize(self, image_png: bytes, *, timeout: float) -> str:
        if not image_png.startswith(_PNG_SIGNATURE):
            raise OcrFailed("the image is not a PNG")
        deadline = time.monotonic() + timeout
        model = self._model
        # One page at a time per process: a second thread waits, within its own budget.
        if not model.lock.acquire(timeout=max(timeout, 0.0)):
            raise OcrTimeout(f"{self.name} overran {timeout:g}s on one page (engine busy)")
        try:
            run_options = model.onnxruntime.RunOptions()
            timer = threading.Timer(
                max(deadline - time.monotonic(), 0.0), setattr, (run_options, "terminate", True)
            )
            timer.daemon = True
            timer.start()
            try:
                return self._read(model, image_png, run_options)
            except OcrTimeout:
                raise OcrTimeout(f"{self.name} overran {timeout:g}s on one page") from None
            except Exception as exc:
                if run_options.terminate:
                    raise OcrTimeout(f"{self.name} overran {timeout:g}s on one page") from None
                if isinstance(exc, OcrFailed):
                    raise
                detail = str(exc).strip()[-_ERROR_TAIL:]  # ONNX Runtime's carry a traceback
                raise OcrFailed(f"{self.name} failed: {type(exc).__name__}: {detail}") from None
            finally:
                timer.cancel()
        finally:
            model.lock.release()

    def _read(self, model: _Model, image_png: bytes, run_options: Any) -> str:
        cv2 = model.cv2
        import numpy as np

        grey = cv2.imdecode(np.frombuffer(image_png, dtype=np.uint8), cv2.IMREAD_GRAYSCALE)
        if grey is None:
            raise OcrFailed("the PNG could not be decoded")
        height, width = grey.shape[:2]
        if max(height, width) > MAX_SIDE:
            ratio = MAX_SIDE / max(height, width)
            size = (max(round(width * ratio), 1), max(round(height * ratio), 1))
            grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
        image = cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)
        del grey

        boxes, texts, scores = model.read(image, run_options)
        confidence = _confidence(texts, scores)
        if confidence < UPSIDE_DOWN_BELOW:
            # Perhaps scanned upside down: read it turned, and keep the more confident reading.
            turned = model.read(cv2.rotate(image, cv2.ROTATE_180), run_options)
            if _confidence(turned[1], turned[2]) > confidence:
                boxes, texts, _ = turned
        if run_options.terminate:  # finished, but after its time
            raise OcrTimeout("the page's time budget ran out")
        return reading_order(boxes, texts)
