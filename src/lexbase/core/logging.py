"""Structured logging: structlog renders every record (ours and the stdlib's) as one line."""

from __future__ import annotations

import logging
import sys

import structlog


def configure_logging(level: str = "INFO", *, json: bool = True) -> None:
    """Route structlog and stdlib logging through one JSON (or console) renderer."""
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]
    # Plain tracebacks: rich ones print local variables (request data) and are slow.
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(
            colors=False, exception_formatter=structlog.dev.plain_traceback
        )
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    handler.addFilter(_strip_query_strings)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # uvicorn's own access log duplicates ours (which carries the request id).
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    quiet_noisy_libraries()


def _strip_query_strings(record: logging.LogRecord) -> bool:
    """uvicorn logs each WebSocket handshake with its full path, query string included, and
    `?token=` is how browsers authenticate a socket: keep only the path."""
    if isinstance(record.args, tuple) and record.args:
        record.args = tuple(
            arg.partition("?")[0] if isinstance(arg, str) and arg.startswith("/") else arg
            for arg in record.args
        )
    return True


def quiet_noisy_libraries() -> None:
    """Libraries whose chatter would put document text or credentials into the logs."""
    # eyecite's warnings print whole citation objects: document text.
    logging.getLogger("eyecite").setLevel(logging.ERROR)
    # Their DEBUG lines: aiosqlite prints every statement's parameters (document text,
    # password and token hashes); uvicorn.error carries the WebSocket library's wire trace,
    # handshake headers (Authorization) and frames (the auth message's token) included.
    floor = max(logging.INFO, logging.getLogger().getEffectiveLevel())
    for name in ("aiosqlite", "uvicorn.error"):
        logging.getLogger(name).setLevel(floor)
