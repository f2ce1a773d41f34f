"""Progress display for `lexbase ingest`: a live rich bar at a terminal, plain lines elsewhere.

Both reporters implement the `Reporter` protocol of `lexbase.commands.ingest`, which calls them as
files are uploaded and processed. Everything goes to stderr, so stdout stays free for the
summary; while the bar is shown, log handlers writing to stderr are pointed at rich's redirected
stream so log lines print above the bar instead of tearing it.
"""

from __future__ import annotations

import logging
import sys
from typing import IO, TYPE_CHECKING

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

if TYPE_CHECKING:
    # Annotations only: bulk imports this module, so a runtime import would be circular.
    from lexbase.commands.ingest import FileOutcome, Reporter


def reporter_for(stream: IO[str]) -> Reporter:
    """A live progress bar for a person at a terminal; one line per event for logs and CI."""
    return ProgressBar() if stream.isatty() else ProgressLines()


class ProgressLines:
    def __init__(self) -> None:
        self._total = 0
        self._finished = 0
        self._waiting = True

    def start(self, files: int, waiting: bool) -> None:
        self._total, self._waiting = files, waiting
        typer.echo(f"lexbase: {files} file{'' if files == 1 else 's'} to ingest", err=True)

    def uploaded(self, outcome: FileOutcome) -> None:
        if outcome.status == "queued" and self._waiting:
            typer.echo(f"lexbase: uploaded {outcome.path}", err=True)
        else:
            self._final(outcome)

    def processed(self, outcome: FileOutcome) -> None:
        self._final(outcome)

    def _final(self, outcome: FileOutcome) -> None:
        self._finished += 1
        detail = f": {outcome.reason}" if outcome.reason else ""
        typer.echo(
            f"lexbase: [{self._finished}/{self._total}] {outcome.status} {outcome.path}{detail}",
            err=True,
        )

    def stop(self) -> None:
        return None


class ProgressBar:
    def __init__(self) -> None:
        self._progress = Progress(
            TextColumn("{task.description:<10}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
        )
        self._uploading = self._progress.add_task("uploading", total=None)
        self._processing = self._progress.add_task("processing", total=0, visible=False)
        self._accepted = 0
        self._swapped: list[logging.StreamHandler[IO[str]]] = []

    def start(self, files: int, waiting: bool) -> None:
        self._progress.update(self._uploading, total=files)
        self._progress.update(self._processing, visible=waiting)
        real_stderr = sys.stderr
        self._progress.start()
        # Log handlers hold the real stderr, which would tear the live bar; point them at
        # rich's redirected stream so log lines print above it while it is shown.
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is real_stderr:
                handler.setStream(sys.stderr)
                self._swapped.append(handler)

    def uploaded(self, outcome: FileOutcome) -> None:
        self._progress.advance(self._uploading)
        if outcome.status == "queued":
            self._accepted += 1
            self._progress.update(self._processing, total=self._accepted)
        self._show_failure(outcome)

    def processed(self, outcome: FileOutcome) -> None:
        self._progress.advance(self._processing)
        self._show_failure(outcome)

    def _show_failure(self, outcome: FileOutcome) -> None:
        if outcome.status == "failed":
            # File names are data, not rich markup.
            self._progress.console.print(
                f"failed {outcome.path}: {outcome.reason}", markup=False, highlight=False
            )

    def stop(self) -> None:
        self._progress.stop()
        for handler in self._swapped:
            handler.setStream(sys.stderr)
        self._swapped.clear()
