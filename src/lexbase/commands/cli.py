"""The `lexbase` command line."""

from __future__ import annotations

import json
import secrets
import sys
from pathlib import Path
from typing import Annotated, cast

import structlog
import typer

from lexbase import __version__
from lexbase.core.config import ConfigurationError, Settings, load_settings
from lexbase.core.logging import configure_logging
from lexbase.core.permissions import Role

app = typer.Typer(help="Lexbase: legal document AI service.", no_args_is_help=True)
log = structlog.get_logger("lexbase.commands.cli")


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


@app.command("prepare-models")
def prepare_models() -> None:
    """Make the models derived on this machine (the distilled embedder, about a minute the
    first time) and check that they load, so `serve` starts ready."""
    import time

    from lexbase.providers.embedders import embedder_spec, get_embedder, prepare_embedder

    settings = _settings()
    spec = embedder_spec(settings)
    started = time.monotonic()
    prepare_embedder(spec)
    embedder = get_embedder(spec)
    embedder.embed_query("ready")
    log.info(
        "models.prepared",
        embedder=embedder.name,
        dimensions=embedder.dimensions,
        model_dir=spec.model_dir,
        seconds=round(time.monotonic() - started, 1),
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
        # Its lines carry the query string (`/ws?token=…`); our access log (core/middleware.py)
        # records the path alone, with the request id.
        access_log=False,
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=",".join(settings.trusted_proxies) or None,
        server_header=False,
    )


@app.command()
def worker(
    concurrency: Annotated[
        int | None,
        typer.Option(min=1, max=64, help="Jobs run at once (LEXBASE_CELERY_CONCURRENCY)"),
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="Worker node name (default: lexbase-PID@HOST)")
    ] = None,
) -> None:
    """Run a distributed job worker (Celery over Redis) with its queue sweeper."""
    settings = _settings(celery_concurrency=concurrency)
    if settings.job_backend != "celery":
        typer.echo("lexbase: `lexbase worker` needs LEXBASE_JOB_BACKEND=celery", err=True)
        raise typer.Exit(code=2)
    from lexbase.jobs.worker import run_worker
    from lexbase.tasks import task_registry

    raise typer.Exit(
        code=run_worker(settings, task_registry, concurrency=settings.celery_concurrency, name=name)
    )


admin = typer.Typer(help="Operator commands: users and organizations.", no_args_is_help=True)
app.add_typer(admin, name="admin")


@admin.command("create-user")
def create_user(
    email: Annotated[str, typer.Argument(help="Sign-in email")],
    full_name: Annotated[str, typer.Option("--full-name", help="Display name")],
    role: Annotated[Role, typer.Option(help="admin | attorney | paralegal | viewer")] = Role.ADMIN,
    organization_id: Annotated[
        str | None, typer.Option("--organization-id", help="Add to this existing organization")
    ] = None,
    new_organization: Annotated[
        str | None, typer.Option("--new-organization", help="Create an organization with this name")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input")
    ] = False,
) -> None:
    """Create a user; with --new-organization, bootstrap a firm and its first admin."""
    import asyncio

    from pydantic import TypeAdapter, ValidationError

    from lexbase.core.errors import LexbaseError
    from lexbase.core.types import EmailAddress

    if (organization_id is None) == (new_organization is None):
        typer.echo("lexbase: give exactly one of --organization-id or --new-organization", err=True)
        raise typer.Exit(code=2)
    try:
        normalized = TypeAdapter(EmailAddress).validate_python(email)
    except ValidationError:
        typer.echo(f"lexbase: not a valid email address: {email}", err=True)
        raise typer.Exit(code=2) from None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    settings = _settings()
    try:
        user_id, org_id = asyncio.run(
            _create_user(
                settings, normalized, full_name, role, password, organization_id, new_organization
            )
        )
    except LexbaseError as exc:
        typer.echo(f"lexbase: {exc.message}", err=True)
        raise typer.Exit(code=1) from None
    typer.echo(f"created user {user_id} ({normalized}, {role.value}) in organization {org_id}")


async def _create_user(
    settings: Settings,
    email: str,
    full_name: str,
    role: Role,
    password: str,
    organization_id: str | None,
    new_organization: str | None,
) -> tuple[str, str]:
    from lexbase.core.db import create_engine, create_sessionmaker, transaction
    from lexbase.users.service import create_user_from_cli

    engine = create_engine(settings)
    try:
        async with transaction(create_sessionmaker(engine, write=True)) as session:
            user = await create_user_from_cli(
                session,
                settings,
                email=email,
                full_name=full_name,
                role=role,
                password=password,
                organization_id=organization_id,
                new_organization=new_organization,
            )
            return user.id, user.organization_id
    finally:
        await engine.dispose()


@admin.command("operator")
def operator(
    email: Annotated[str, typer.Argument(help="The user's sign-in email")],
    organization_id: Annotated[str, typer.Option("--organization-id", help="The user's firm")],
    revoke: Annotated[bool, typer.Option("--revoke", help="Take the role away")] = False,
) -> None:
    """Let an admin see server-level health (data paths, disk, every firm's queue)."""
    import asyncio

    from lexbase.core.errors import LexbaseError

    settings = _settings()
    try:
        asyncio.run(_set_operator(settings, email, organization_id, not revoke))
    except LexbaseError as exc:
        typer.echo(f"lexbase: {exc.message}", err=True)
        raise typer.Exit(code=1) from None
    typer.echo(f"{email}: operator {'revoked' if revoke else 'granted'}")


async def _set_operator(settings: Settings, email: str, organization_id: str, on: bool) -> None:
    from lexbase.core.db import create_engine, create_sessionmaker, transaction
    from lexbase.users.service import set_operator_from_cli

    engine = create_engine(settings)
    try:
        async with transaction(create_sessionmaker(engine, write=True)) as session:
            await set_operator_from_cli(session, email.strip().lower(), organization_id, on)
    finally:
        await engine.dispose()


audit = typer.Typer(help="Audit trail commands.", no_args_is_help=True)
app.add_typer(audit, name="audit")


@audit.command("verify")
def audit_verify() -> None:
    """Verify every organization's audit hash chain; exit 1 if any is broken."""
    import asyncio

    from lexbase.audit.service import ChainVerification, verify_all_chains
    from lexbase.core.db import create_engine, create_sessionmaker, transaction

    settings = _settings()

    async def run() -> dict[str, ChainVerification]:
        engine = create_engine(settings)
        try:
            async with transaction(create_sessionmaker(engine)) as session:
                return await verify_all_chains(session)
        finally:
            await engine.dispose()

    results = asyncio.run(run())
    for chain, result in results.items():
        state = "ok" if result.valid else f"BROKEN at {result.first_invalid_id} ({result.reason})"
        typer.echo(f"{chain}: {result.events_checked} events checked, {state}")
    if not all(r.valid for r in results.values()):
        raise typer.Exit(code=1)


@app.command()
def ingest(
    paths: Annotated[
        list[Path],
        typer.Argument(metavar="PATH", help="Files or folders (walked recursively)", exists=True),
    ],
    user: Annotated[str, typer.Option("--user", help="Upload as this user (email)")],
    organization_id: Annotated[
        str | None,
        typer.Option(
            "--organization-id", help="The user's organization, when the email has several"
        ),
    ] = None,
    matter_id: Annotated[
        str | None, typer.Option("--matter-id", help="File every document under this matter")
    ] = None,
    concurrency: Annotated[
        int, typer.Option(min=1, max=64, help="Files uploaded at the same time")
    ] = 4,
    tags: Annotated[str | None, typer.Option(help="Comma-separated tags for every file")] = None,
    no_wait: Annotated[
        bool, typer.Option("--no-wait", help="Upload and exit; a server's workers process them")
    ] = False,
    timeout: Annotated[
        float, typer.Option(min=1, help="Stop waiting this many seconds after the start")
    ] = 3600,
) -> None:
    """Upload files as a user and wait until each is indexed; exit 1 if any file failed.

    The documents are processed by this command's own job runner (embedded mode); with
    LEXBASE_EMBEDDED_WORKERS=0 it waits for a server's workers instead.
    """
    import asyncio

    from lexbase.commands.ingest import IngestOptions, IngestRefused, reporter_for
    from lexbase.commands.ingest import ingest as run_ingest
    from lexbase.documents.service import parse_tags

    settings = _settings()
    options = IngestOptions(
        matter_id=matter_id,
        organization_id=organization_id,
        tags=tuple(parse_tags(tags)),
        concurrency=concurrency,
        wait=not no_wait,
        timeout=timeout,
    )
    try:
        summary = asyncio.run(run_ingest(settings, paths, user, options, reporter_for(sys.stderr)))
    except IngestRefused as exc:
        typer.echo(f"lexbase: {exc.message}", err=True)
        raise typer.Exit(code=2) from None
    for line in summary.lines():
        typer.echo(line)
    typer.echo(f"lexbase: ingest finished in {summary.seconds:.1f}s", err=True)
    raise typer.Exit(code=summary.exit_code)


@app.command("eval-chat")
def evaluate_chat(
    queries: Annotated[
        Path, typer.Argument(help="Queries JSON ({tests: [{query, snippets}]})", exists=True)
    ],
    corpus_dir: Annotated[
        Path, typer.Option("--corpus-dir", help="Folder the queries' file paths are under")
    ],
    corpus: Annotated[
        Path | None,
        typer.Option("--corpus", help="JSON list of the files forming the haystack (default: all)"),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Keep the eval database here (re-runs skip ingest); default: temp"),
    ] = None,
    mode: Annotated[str, typer.Option(help="generated | extractive")] = "generated",
    limit: Annotated[int | None, typer.Option(min=1, help="Ask only the first N questions")] = None,
    answer_tokens: Annotated[int, typer.Option(min=32, help="Most tokens an answer takes")] = 200,
) -> None:
    """Ask every question of an eval set through the chat path; print citation figures."""
    import asyncio
    import tempfile

    from lexbase.commands.eval_chat import run_chat_eval
    from lexbase.commands.evaluate import corpus_files, load_queries
    from lexbase.commands.ingest import reporter_for

    if mode not in ("generated", "extractive"):
        typer.echo(f"lexbase: unknown mode {mode!r}", err=True)
        raise typer.Exit(code=2)
    tests = load_queries(queries)[:limit]
    with tempfile.TemporaryDirectory(prefix="lexbase-eval-chat-") as scratch:
        base = data_dir or Path(scratch)
        base.mkdir(parents=True, exist_ok=True)
        models = _settings().resolved_model_dir.resolve()
        settings = _settings(
            data_dir=base,
            database_url=f"sqlite+aiosqlite:///{(base / 'eval.db').resolve()}",
            model_dir=models,
            chat_answer_mode=mode,
            chat_answer_tokens=answer_tokens,
            rate_limit_enabled=False,
        )
        report = asyncio.run(
            run_chat_eval(
                settings,
                corpus_dir,
                corpus_files(corpus_dir, corpus),
                tests,
                reporter=reporter_for(sys.stderr),
                progress=sys.stderr,
            )
        )
    typer.echo(f"mode {mode}, ingest {report.ingest_seconds:.1f} s", err=True)
    for line in report.lines():
        typer.echo(line)


CUAD_HELP = "The CUAD eval set's folder (queries.json, corpus/)"


@app.command("train-clauses")
def train_clauses(
    eval_dir: Annotated[Path, typer.Argument(help=CUAD_HELP, exists=True, file_okay=False)],
    out: Annotated[
        Path | None, typer.Option(help="Model file to write (default: the bundled one)")
    ] = None,
    c: Annotated[float, typer.Option(min=0.0001, help="Inverse regularization")] = 4.0,
    features: Annotated[int, typer.Option(min=100, help="Vocabulary size")] = 50_000,
    contracts: Annotated[
        int | None, typer.Option(min=1, help="Train on the first N training contracts only")
    ] = None,
) -> None:
    """Rebuild the clause classifiers from the CUAD labels (held-out contracts excluded)."""
    import time

    from lexbase.commands.clauses import Labels, train
    from lexbase.intelligence.clauses import BUNDLED

    labels = Labels.load(eval_dir)
    files = labels.split(held_out=False)[:contracts]
    started = time.perf_counter()
    model = train(labels, files, c=c, features=features)
    target = out or BUNDLED
    model.save(target)
    typer.echo(
        f"trained on {len(files)} contracts, {model.meta['sentences']} sentences, "
        f"{len(model.categories)} categories in {time.perf_counter() - started:.0f} s: {target}"
    )


@app.command("eval-clauses")
def evaluate_clauses(
    eval_dir: Annotated[Path, typer.Argument(help=CUAD_HELP, exists=True, file_okay=False)],
    model: Annotated[
        Path | None, typer.Option(help="Model file (default: the bundled one)", exists=True)
    ] = None,
    contracts: Annotated[
        int | None, typer.Option(min=1, help="Evaluate the first N held-out contracts only")
    ] = None,
) -> None:
    """CUAD's metric (AUPR, precision at 80%/90% recall), presence and span figures per
    category, on the contracts held out from training."""
    from lexbase.commands.clauses import Labels, evaluate
    from lexbase.intelligence.clauses import BUNDLED, ClauseModel

    labels = Labels.load(eval_dir)
    report = evaluate(
        ClauseModel.load(model or BUNDLED), labels, labels.split(held_out=True)[:contracts]
    )
    for line in report.lines():
        typer.echo(line)


@app.command("eval")
def evaluate(
    queries: Annotated[
        Path, typer.Argument(help="Queries JSON ({tests: [{query, snippets}]})", exists=True)
    ],
    corpus_dir: Annotated[
        Path, typer.Option("--corpus-dir", help="Folder the queries' file paths are under")
    ],
    corpus: Annotated[
        Path | None,
        typer.Option("--corpus", help="JSON list of the files forming the haystack (default: all)"),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Keep the eval database here (re-runs skip ingest); default: temp"),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            help="Run on this database (e.g. PostgreSQL) instead of SQLite in the data dir"
        ),
    ] = None,
    mode: Annotated[str, typer.Option(help="hybrid | keyword | semantic")] = "hybrid",
    depth: Annotated[int, typer.Option(min=1, max=100, help="Chunks retrieved per query")] = 64,
    results: Annotated[
        Path | None, typer.Option(help="Write the RESULTS.json for score.py here")
    ] = None,
    scorer: Annotated[
        Path | None, typer.Option(help="score.py to run on the results (prints P@k, R@k)")
    ] = None,
) -> None:
    """Ingest a retrieval corpus, run every query through search, write and score results."""
    import asyncio
    import subprocess
    import tempfile

    from lexbase.commands.evaluate import corpus_files, load_queries, run_eval
    from lexbase.commands.ingest import reporter_for
    from lexbase.search.schemas import Mode

    if mode not in ("hybrid", "keyword", "semantic"):
        typer.echo(f"lexbase: unknown mode {mode!r}", err=True)
        raise typer.Exit(code=2)
    tests = load_queries(queries)
    with tempfile.TemporaryDirectory(prefix="lexbase-eval-") as scratch:
        base = data_dir or Path(scratch)
        base.mkdir(parents=True, exist_ok=True)
        database = database_url or f"sqlite+aiosqlite:///{(base / 'eval.db').resolve()}"
        # Models derived on this machine are shared with the service, not re-made per eval.
        models = _settings().resolved_model_dir.resolve()
        settings = _settings(data_dir=base, database_url=database, model_dir=models)
        files = corpus_files(corpus_dir, corpus)
        run = asyncio.run(
            run_eval(
                settings,
                corpus_dir,
                files,
                tests,
                mode=cast(Mode, mode),
                depth=depth,
                reporter=reporter_for(sys.stderr),
                progress=sys.stderr,
            )
        )
        out = results or Path(scratch) / "results.json"
        out.write_text(json.dumps({"results": run.results}))
        typer.echo(
            f"documents {run.documents}, ingest {run.ingest_seconds:.1f}s, mode {mode}, "
            f"{run.latency_line()}"
        )
        if scorer is not None:
            completed = subprocess.run(  # noqa: S603 - the operator's own scorer script
                [sys.executable, str(scorer), str(queries), str(out)],
                capture_output=True,
                text=True,
                check=False,
            )
            typer.echo(completed.stdout.rstrip())
            if completed.returncode != 0:
                typer.echo(completed.stderr.rstrip(), err=True)
                raise typer.Exit(code=1)


def main() -> None:  # pragma: no cover - console entry point
    app(prog_name="lexbase")
    sys.exit(0)
