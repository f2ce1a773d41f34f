"""`lexbase eval-chat` asks an eval set's questions through the chat path and reports."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

CUAD = Path(__file__).resolve().parents[3] / "shared" / "eval" / "legalbench-cuad"
LEXBASE = [sys.executable, "-m", "lexbase"]


def test_eval_chat_reports_verified_citations_and_hits(tmp_path: Path) -> None:
    tests = json.loads((CUAD / "queries-small.json").read_text())["tests"]
    files = sorted({t["snippets"][0]["file_path"] for t in tests})[:2]
    chosen = [t for t in tests if t["snippets"][0]["file_path"] in files][:8]
    queries = tmp_path / "queries.json"
    queries.write_text(json.dumps({"tests": chosen}))
    corpus = tmp_path / "corpus.json"
    corpus.write_text(json.dumps(files))
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEXBASE_")}
    env |= {"LEXBASE_MODEL_DIR": os.environ["LEXBASE_MODEL_DIR"], "LEXBASE_LOG_LEVEL": "WARNING"}
    run = subprocess.run(
        [
            *LEXBASE,
            "eval-chat",
            str(queries),
            "--corpus-dir",
            str(CUAD / "corpus"),
            "--corpus",
            str(corpus),
            "--mode",
            "extractive",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    report = run.stdout
    assert f"answers {len(chosen)}," in report
    assert "verified citations 100.0%" in report
    hit_rate = float(re.search(r"citation hit rate ([\d.]+)%", report).group(1))  # type: ignore[union-attr]
    assert hit_rate > 25  # two contracts and their own questions
    reachable = float(re.search(r"sources hit rate ([\d.]+)%", report).group(1))  # type: ignore[union-attr]
    assert reachable >= hit_rate  # a citation quotes a packed source
    assert re.search(r"time to first token p50 [\d.]+ s", report)
