"""`lexbase eval` ingests a retrieval corpus, runs its queries through search and scores them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

EVAL = Path(__file__).resolve().parents[3] / "shared" / "eval"
CUAD = EVAL / "legalbench-cuad"
LEXBASE = [sys.executable, "-m", "lexbase"]


def test_eval_scores_the_search_results(tmp_path: Path) -> None:
    tests = json.loads((CUAD / "queries-small.json").read_text())["tests"]
    files = sorted({t["snippets"][0]["file_path"] for t in tests})[:2]
    chosen = [t for t in tests if t["snippets"][0]["file_path"] in files][:12]
    queries = tmp_path / "queries.json"
    queries.write_text(json.dumps({"tests": chosen}))
    corpus = tmp_path / "corpus.json"
    corpus.write_text(json.dumps(files))
    results = tmp_path / "results.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEXBASE_")}
    env |= {"LEXBASE_MODEL_DIR": os.environ["LEXBASE_MODEL_DIR"], "LEXBASE_LOG_LEVEL": "WARNING"}

    run = subprocess.run(
        [
            *LEXBASE,
            "eval",
            str(queries),
            "--corpus-dir",
            str(CUAD / "corpus"),
            "--corpus",
            str(corpus),
            "--data-dir",
            str(tmp_path / "data"),
            "--results",
            str(results),
            "--scorer",
            str(EVAL / "score.py"),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert f"queries: {len(chosen)}, answered: {len(chosen)}" in run.stdout
    assert "documents 2," in run.stdout
    scores = json.loads(run.stdout.strip().splitlines()[-1])
    # Two contracts and their own questions: the answer is almost always retrieved.
    assert scores["recall"]["64"] > 0.6

    written = json.loads(results.read_text())["results"]
    assert [r["query"] for r in written] == [t["query"] for t in chosen]
    for result in written:
        assert 0 < len(result["retrieved"]) <= 64
        for hit in result["retrieved"]:
            assert hit["file_path"] in files
            text = (CUAD / "corpus" / hit["file_path"]).read_text()
            start, end = hit["span"]
            assert 0 <= start < end <= len(text)
