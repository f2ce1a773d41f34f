"""The `lexbase` command line."""

from __future__ import annotations

import secrets
import sys
from typing import Annotated

import structlog
import typer

from lexbase import __version__
from lexbase.core.config import ConfigurationError, Settings, load_settings
from lexbase.core.logging import configure_logging

app = typer.Typer(help="Lexbase: legal document AI service.", no_args_is_help=True)
log = structlog.get_logger("lexbase.cli")


def _settings(**overrides: object) -> Settings:
    """Load settings or exit with one line naming the bad setting."""
    try:
        settings = load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except ConfigurationError as exc:
        typer.echo(f"lexbase: {exc}", err=True)
        raise typer.Exit(code=2) from None
    configure_logging(settings.log_level, json=settings.log_json)
    return settings


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


@app.command("gen-secrets")
def gen_secrets() -> None:
    """Print freshly generated secrets in `.env` form."""
    typer.echo(f"LEXBASE_SECRET_KEY={secrets.token_urlsafe(48)}")


@app.command()
def migrate(
    revision: Annotated[str, typer.Argument(help="Target revision")] = "head",
) -> None:
    """Apply database migrations (SQLite or PostgreSQL, whichever is configured)."""
    from lexbase.core.migrate import upgrade

    settings = _settings()
    upgrade(settings, revision)
    log.info(
        "migrate.done", revision=revision, database=settings.resolved_database_url.split(":")[0]
    )


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (LEXBASE_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (LEXBASE_PORT)")] = None,
) -> None:
    """Run the API server."""
    import uvicorn

    from lexbase.app import create_app

    settings = _settings(host=host, port=port)
    log.info("serve.starting", host=settings.host, port=settings.port, env=settings.env.value)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=",".join(settings.trusted_proxies) or None,
        server_header=False,
    )


def main() -> None:  # pragma: no cover - console entry point
    app(prog_name="lexbase")
    sys.exit(0)
