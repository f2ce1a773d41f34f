"""`lexbase serve` SIGKILLed in the middle of a workflow: restarted, the execution resumes at
the step that was running — the finished step is not run again — and completes."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from tests.documents.test_serve_killed import (
    partner_login,
    register_partner,
    serve_environment,
    serving,
)
from tests.intelligence.test_analysis_api import OPINION
from tests.support.serve import LEXBASE
from tests.support.services import find_free_port

API = "/api/v1"
DEFINITION = {
    "inputs": {"opinion": {"type": "document"}},
    "steps": [
        {"name": "analysis", "type": "analyze", "document": "$input.opinion"},
        # The bundled model summarizes for a second or two: the moment to kill the server.
        {
            "name": "summary",
            "type": "summarize",
            "document": "$input.opinion",
            "method": "abstractive",
            "length": "short",
        },
        {
            "name": "report",
            "type": "report",
            "title": "Brief",
            "sections": [
                {"heading": "Case", "source": "$steps.analysis"},
                {"heading": "Summary", "source": "$steps.summary"},
            ],
        },
    ],
}


def _execution(base: str, headers: dict[str, str], execution_id: str) -> dict[str, Any]:
    response = httpx.get(f"{base}{API}/workflows/executions/{execution_id}", headers=headers)
    return dict(response.json())


def test_a_killed_service_resumes_a_workflow_at_its_unfinished_step(tmp_path: Path) -> None:
    data_dir, log = tmp_path / "data", tmp_path / "serve.log"
    migrated = subprocess.run(
        [*LEXBASE, "migrate"],
        env=serve_environment(data_dir, find_free_port()),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert migrated.returncode == 0, migrated.stderr
    with serving(data_dir, log) as (process, base):
        headers = register_partner(base)
        uploaded = httpx.post(
            f"{base}{API}/documents",
            headers=headers,
            files={"file": ("doe-v-acme.txt", OPINION)},
            timeout=60,
        ).json()
        document_id = uploaded["document"]["id"]
        deadline = time.monotonic() + 120
        while (
            httpx.get(f"{base}{API}/documents/{document_id}", headers=headers).json()["status"]
            != "indexed"
        ):
            assert time.monotonic() < deadline, "the opinion was never indexed"
            time.sleep(0.1)
        template = httpx.post(
            f"{base}{API}/workflows/templates",
            headers=headers,
            json={"name": "Brief", "category": "litigation", "definition": DEFINITION},
        )
        assert template.status_code == 201, template.text
        started = httpx.post(
            f"{base}{API}/workflows/executions",
            headers=headers,
            json={"template_id": template.json()["id"], "input": {"opinion": document_id}},
        )
        assert started.status_code == 202, started.text
        execution_id = started.json()["id"]
        deadline = time.monotonic() + 120
        while True:
            steps = _execution(base, headers, execution_id)["steps"]
            if steps[1]["status"] == "running":
                break
            assert steps[1]["status"] == "pending", steps
            assert time.monotonic() < deadline, "the summary never started"
            time.sleep(0.02)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    before = steps

    with serving(data_dir, log) as (_, base):
        headers = partner_login(base)
        deadline = time.monotonic() + 180
        while (execution := _execution(base, headers, execution_id))["status"] not in (
            "completed",
            "failed",
        ):
            assert time.monotonic() < deadline, execution
            time.sleep(0.3)
        text = httpx.get(f"{base}{API}/documents/{document_id}/text", headers=headers).text
    assert execution["status"] == "completed", execution
    analysis, summary, report = execution["steps"]
    # The analysis finished before the kill: not run again.
    assert analysis["attempts"] == 1
    assert analysis["finished_at"] == before[0]["finished_at"]
    assert analysis["output"] == before[0]["output"]
    # The summary was running when the server died: run again, to the end.
    assert summary["status"] == "succeeded" and summary["attempts"] == 2
    assert report["status"] == "succeeded"
    for citation in execution["report"]["citations"]:
        assert text[citation["start"] : citation["end"]] == citation["quote"]
