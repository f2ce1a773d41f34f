"""Run a few lines of Python in a fresh interpreter: what a process that imports only them
sees (no module the test run has already loaded)."""

from __future__ import annotations

import subprocess
import sys


def run_fresh(code: str) -> str:
    """The standard output of `code` run alone; fails the test when it raises."""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout
