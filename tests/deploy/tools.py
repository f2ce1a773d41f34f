"""Finding and running the tools that read the deployment files.

Outside CI a missing tool skips the checks that need it; with CI=true it fails them.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parents[2]


def tool(name: str, *preferred: Path) -> str:
    """The executable's path: the first of `preferred` that exists, else the one on PATH."""
    for path in preferred:
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
    found = shutil.which(name)
    if found is not None:
        return found
    message = f"{name} is not installed (scripts/provision-deploy-tools.sh installs it)"
    if IN_CI:
        pytest.fail(f"{message}; with CI=true a missing tool is a failure", pytrace=False)
    pytest.skip(message)


def run(args: list[str], cwd: Path = ROOT, env: dict[str, str] | None = None) -> str:
    """The command's standard output; an AssertionError with both outputs if it fails."""
    result = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, (
        f"{shlex.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    )
    return result.stdout
