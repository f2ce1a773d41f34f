"""Typed settings, read from the environment and `.env` with the `LEXBASE_` prefix."""

from __future__ import annotations

import enum
import ipaddress
import os
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# Development keeps working out of the box; anything else must configure a real secret.
DEV_SECRET_KEY = "lexbase-development-secret-key-do-not-use-in-production"  # noqa: S105
MIN_SECRET_LENGTH = 32
MIN_METRICS_TOKEN_LENGTH = 16
_PLACEHOLDER_MARKERS = ("changeme", "change-me", "change_me", "secret", "placeholder", "example")


LLMProvider = Literal["local", "openai", "anthropic", "gemini"]


class Environment(enum.StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"
    TEST = "test"


def _one_per_core() -> int:
    return min(os.cpu_count() or 1, 4)


class Settings(BaseSettings):
    """Every knob of the service. `.env.example` documents each one."""

    model_config = SettingsConfigDict(
        env_prefix="LEXBASE_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        validate_default=True,
    )

    env: Environment = Environment.DEVELOPMENT
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    data_dir: Path = Path("./data")
    database_url: str | None = None
    database_echo: bool = False
    database_pool_size: int = Field(default=10, ge=1, le=200)
    # Seconds to open a PostgreSQL connection before a request gives up with a 503.
    database_connect_timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    redis_url: str | None = None
    secret_key: SecretStr = SecretStr(DEV_SECRET_KEY)
    # Bearer token that /metrics requires. Unset: /metrics is public in development and test,
    # and off (404) in production.
    metrics_token: SecretStr | None = None

    log_level: str = "INFO"
    log_json: bool = True

    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    max_request_mb: int = Field(default=60, ge=1, le=4096)
    max_upload_mb: int = Field(default=50, ge=1, le=4096)
    # Slow request bodies are answered 408 (core/middleware.py, BodyDeadlines): the longest
    # wait for the next chunk, and the average rate required once the grace period is over.
    request_body_idle_seconds: float = Field(default=30.0, gt=0, le=3600)
    request_body_grace_seconds: float = Field(default=10.0, gt=0, le=3600)
    request_body_min_bytes_per_second: int = Field(default=500, ge=0, le=100 * 1024 * 1024)

    rate_limit_enabled: bool = True
    rate_limit_default: str = "600/minute"
    rate_limit_auth: str = "60/minute"
    rate_limit_upload: str = "120/minute"
    rate_limit_search: str = "300/minute"
    rate_limit_chat: str = "30/minute"
    # Per client address: sign-ups, and requests answered 401 (made-up or stale credentials).
    rate_limit_register: str = "20/hour"
    rate_limit_auth_failures: str = "30/minute"
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # Reads of documents (opened by id, text, file, chunks, citations) are audited in batches
    # written this often (seconds); what a crash can lose is one interval of read records.
    audit_reads_flush_seconds: float = Field(default=2.0, gt=0, le=300)

    # WebSockets: open sockets per user and per client address (per process), and how long a
    # socket's check of its caller (session, role, walls) stands while events flow.
    ws_max_per_user: int = Field(default=10, ge=1, le=1000)
    ws_max_per_address: int = Field(default=50, ge=1, le=100000)
    ws_recheck_seconds: float = Field(default=5.0, gt=0, le=300)

    ready_timeout_seconds: float = Field(default=2.0, gt=0, le=30)

    registration_enabled: bool = True
    password_min_length: int = Field(default=8, ge=8, le=128)
    # Threads hashing passwords (Argon2) per process; further sign-ins queue for them.
    password_hash_threads: int = Field(default=2, ge=1, le=64)
    access_token_minutes: int = Field(default=15, ge=1, le=1440)
    refresh_token_days: int = Field(default=30, ge=1, le=365)
    jwt_issuer: str = "lexbase"
    jwt_audience: str = "lexbase-api"
    login_max_failures: int = Field(default=5, ge=1, le=100)
    login_lockout_minutes: int = Field(default=15, ge=1, le=1440)
    login_failures_per_ip: str = "50 per 15 minutes"

    # Jobs run at once by `lexbase serve` (embedded mode). More than the worker processes:
    # while one job stores its output (the database is the service's own process's work),
    # the processes already have the next documents to work on.
    embedded_workers: int = Field(default=4, ge=0, le=64)
    # Processes for the CPU-heavy stages, per runner (the embedded service, each Celery pool
    # process): one per core, up to four.
    worker_processes: int = Field(default_factory=lambda: _one_per_core(), ge=1, le=64)
    worker_memory_mb: int = Field(default=1536, ge=256, le=65536)
    worker_warm_up: bool = True
    job_lease_seconds: float = Field(default=60.0, gt=0, le=3600)
    job_poll_seconds: float = Field(default=2.0, gt=0, le=60)
    job_retry_base_seconds: float = Field(default=5.0, ge=0, le=3600)
    job_max_attempts: int = Field(default=3, ge=1, le=20)
    # Stored file bytes: how long an unfinished upload holds its blob against deletion (also
    # the age below which the sweeper leaves an unreferenced blob alone), and how often the
    # sweeper looks for blobs nothing references any more.
    blob_pin_minutes: int = Field(default=60, ge=1, le=10080)
    blob_sweep_minutes: int = Field(default=60, ge=1, le=10080)
    ingest_timeout_seconds: float = Field(default=600.0, gt=0, le=86400)
    max_pages: int = Field(default=2000, ge=1, le=100000)

    # Distributed runner: "celery" hands jobs to `lexbase worker` processes over Redis.
    job_backend: Literal["embedded", "celery"] = "embedded"
    celery_broker_url: str | None = None
    celery_concurrency: int = Field(default=2, ge=1, le=64)
    celery_visibility_timeout_seconds: float = Field(default=3600.0, gt=0, le=86400)
    celery_redispatch_seconds: float = Field(default=300.0, gt=0, le=86400)
    # `lexbase worker` serves its Prometheus metrics on this address and port (0: not served).
    worker_metrics_port: int = Field(default=0, ge=0, le=65535)
    worker_metrics_host: str = "127.0.0.1"

    # OpenTelemetry tracing: spans are exported over OTLP/HTTP to this endpoint (for example
    # http://otel-collector:4318); unset, tracing is off and costs nothing.
    otel_exporter_endpoint: str | None = None
    otel_service_name: str = "lexbase"
    # The share of traces kept (a trace is kept or dropped whole, from its first span).
    otel_sample_ratio: float = Field(default=1.0, ge=0.0, le=1.0)
    # Sentry (or a server speaking its protocol): unexpected errors of requests and jobs are
    # reported there, without personal data. Unset: nothing is reported.
    sentry_dsn: SecretStr | None = None
    # Langfuse: each model call is sent as a generation (model, parameters, tokens, latency,
    # outcome, and its prompt and answer with personal data replaced as for an external model,
    # unless the organization turned redaction off). Set all three, or none: nothing is sent.
    langfuse_host: str | None = None
    langfuse_public_key: str | None = None
    langfuse_secret_key: SecretStr | None = None
    # false: no prompt or answer is sent, only the call's model, tokens, latency and outcome.
    langfuse_capture_content: bool = True

    # Embeddings: a local model from an installed package (see providers/embedders).
    embedder: Literal["minilm", "model2vec"] = "model2vec"
    # Where models derived on this machine are kept (model2vec's distillation); data_dir/models.
    model_dir: Path | None = None

    # Hybrid search: weighted reciprocal rank fusion, weight / (rrf_k + rank) per list.
    search_keyword_weight: float = Field(default=2.0, ge=0, le=100)
    search_semantic_weight: float = Field(default=1.0, ge=0, le=100)
    search_citation_weight: float = Field(default=2.0, ge=0, le=100)
    search_rrf_k: int = Field(default=60, ge=1, le=1000)
    # Which words the keyword stage scores (search/terms.py): rarest first while the rows
    # they match stay within the budget and the share of the organization's chunks.
    search_keyword_budget: int = Field(default=20_000, ge=100, le=10_000_000)
    search_keyword_budget_share: float = Field(default=0.2, gt=0, le=1)

    # Language models, in fallback order: "local" (a GGUF model run in-process; the bundled
    # SmolLM2-135M-Instruct unless a path is given), "openai" (any OpenAI-compatible API),
    # "anthropic" and "gemini" (their own APIs, through their official clients).
    llm_providers: Annotated[list[LLMProvider], NoDecode] = Field(
        default_factory=lambda: list[LLMProvider](["local"]), min_length=1
    )
    llm_local_model_path: Path | None = None
    llm_local_context: int = Field(default=4096, ge=512, le=131072)
    llm_local_threads: int = Field(default=2, ge=1, le=64)
    llm_local_queue: int = Field(default=8, ge=0, le=1000)
    llm_openai_base_url: str | None = None
    llm_openai_api_key: SecretStr | None = None
    llm_openai_model: str = "gpt-4o-mini"
    llm_openai_context_window: int = Field(default=128000, ge=512, le=10_000_000)
    # How a JSON schema is asked for: OpenAI's `json_schema` response format, or a
    # `json_object` format carrying the schema (llama-cpp-python's server takes only that).
    llm_openai_schema_format: Literal["json_schema", "json_object"] = "json_schema"
    llm_anthropic_base_url: str | None = None
    llm_anthropic_api_key: SecretStr | None = None
    llm_anthropic_model: str = "claude-sonnet-5"
    llm_anthropic_context_window: int = Field(default=200000, ge=512, le=10_000_000)
    llm_gemini_base_url: str | None = None
    llm_gemini_api_key: SecretStr | None = None
    llm_gemini_model: str = "gemini-2.5-flash"
    llm_gemini_context_window: int = Field(default=1_000_000, ge=512, le=10_000_000)
    llm_timeout_seconds: float = Field(default=60.0, gt=0, le=3600)
    llm_retries: int = Field(default=2, ge=0, le=10)
    llm_circuit_failures: int = Field(default=3, ge=1, le=100)
    llm_circuit_cooldown_seconds: float = Field(default=30.0, ge=0, le=3600)
    # Personal data replaced by placeholders before a prompt reaches a model: "external"
    # (every provider but the in-process one), "all", or "off"; and whether the parties
    # named in the documents' metadata count. An organization may choose otherwise.
    llm_redact_pii: Literal["off", "external", "all"] = "external"
    llm_redact_parties: bool = False

    # Chat: "generated" answers come from the language models and are verified sentence by
    # sentence; "extractive" answers quote the retrieved passages without any model; "auto"
    # is extractive when the only model is the bundled SmolLM2-135M, generated otherwise.
    chat_answer_mode: Literal["auto", "generated", "extractive"] = "auto"
    chat_answer_tokens: int = Field(default=400, ge=32, le=8192)
    # Size limits: messages (questions and answers) a conversation holds, and conversations
    # a user keeps; past them the request is refused with 422 (delete some, or start anew).
    chat_max_messages: int = Field(default=400, ge=2, le=100_000)
    chat_max_conversations: int = Field(default=1000, ge=1, le=1_000_000)
    # Document analysis: whether fields the rules cannot read (a case's holding when the court
    # does not write "we hold", a renewal term stated in words) are asked of the language
    # models — each answer checked against the sentence it names, or left null with a reason.
    # "auto": asked unless the only model is the bundled SmolLM2-135M, whose answers almost
    # never pass the check (benchmarks/RESULTS.md) and cost a second or two each.
    analysis_model_fields: Literal["auto", "on", "off"] = "auto"
    # Which analyses, summaries and questions run as jobs (202 + job id, progress on the
    # WebSocket) instead of answering inline: those needing more model calls than this, and
    # those of documents longer than this many pages (the rules alone take about 0.1 s for
    # 150 pages, so the page limit only matters for very long documents).
    analysis_inline_model_calls: int = Field(default=4, ge=0, le=1000)
    analysis_inline_max_pages: int = Field(default=200, ge=1, le=100_000)
    # The most model calls one abstractive summary may make (map and reduce together), as a
    # job; more is refused with 422 before any call.
    summary_max_model_calls: int = Field(default=120, ge=1, le=10_000)
    # How often usage events are rolled up into per-day rows (a job per organization). The
    # analytics are exact either way: events not rolled up yet are added when read.
    usage_rollup_seconds: float = Field(default=60.0, ge=0.05, le=86_400)
    # Price per million tokens, [prompt, completion], by model name, for the estimated cost of
    # each model call (JSON). Models it does not name cost 0 (the local one).
    llm_prices: dict[str, tuple[float, float]] = Field(default_factory=dict)

    # Blob storage: "local" keeps files under data_dir; "s3" uses any S3-compatible bucket.
    blob_backend: Literal["local", "s3"] = "local"
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key_id: SecretStr | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_key_prefix: str = ""
    s3_create_bucket: bool = False

    @field_validator("cors_origins", "trusted_proxies", "llm_providers", mode="before")
    @classmethod
    def _split_csv(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: list[str]) -> list[str]:
        for proxy in value:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(f"{proxy!r} is not an IP address or network") from None
        return value

    @field_validator(
        "rate_limit_default",
        "rate_limit_auth",
        "rate_limit_upload",
        "rate_limit_search",
        "rate_limit_chat",
        "rate_limit_register",
        "rate_limit_auth_failures",
        "login_failures_per_ip",
    )
    @classmethod
    def _rate_limit_notation(cls, value: str) -> str:
        from limits import parse

        try:
            parse(value)
        except ValueError:
            raise ValueError("must be a rate such as '600/minute' or '10/second'") from None
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if value.startswith(("postgres://", "postgresql://")):
            value = "postgresql+asyncpg://" + value.split("://", 1)[1]
        if not value.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite://")):
            raise ValueError(
                "must be a postgresql:// (asyncpg) or sqlite+aiosqlite:// URL",
            )
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return value.strip()

    @field_validator(
        "s3_bucket",
        "s3_endpoint_url",
        "s3_access_key_id",
        "s3_secret_access_key",
        "model_dir",
        "metrics_token",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("metrics_token")
    @classmethod
    def _metrics_token_length(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_METRICS_TOKEN_LENGTH:
            raise ValueError(f"must be at least {MIN_METRICS_TOKEN_LENGTH} characters")
        return value

    @field_validator("s3_endpoint_url")
    @classmethod
    def _endpoint_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @model_validator(mode="after")
    def _s3_is_complete(self) -> Self:
        if self.blob_backend == "s3" and self.s3_bucket is None:
            raise ValueError("LEXBASE_S3_BUCKET is required when LEXBASE_BLOB_BACKEND=s3")
        if (self.s3_access_key_id is None) != (self.s3_secret_access_key is None):
            raise ValueError(
                "set both LEXBASE_S3_ACCESS_KEY_ID and LEXBASE_S3_SECRET_ACCESS_KEY, or neither"
            )
        return self

    @field_validator(
        "otel_exporter_endpoint",
        "sentry_dsn",
        "langfuse_host",
        "langfuse_public_key",
        "langfuse_secret_key",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # `.env.example` lists them empty: an empty value leaves the feature off.
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("worker_processes", mode="before")
    @classmethod
    def _empty_is_one_per_core(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return _one_per_core()
        return value

    @model_validator(mode="after")
    def _langfuse_is_complete(self) -> Self:
        given = [self.langfuse_host, self.langfuse_public_key, self.langfuse_secret_key]
        if any(v is not None for v in given) and any(v is None for v in given):
            raise ValueError(
                "set LEXBASE_LANGFUSE_HOST, LEXBASE_LANGFUSE_PUBLIC_KEY and "
                "LEXBASE_LANGFUSE_SECRET_KEY together, or none of them"
            )
        return self

    @field_validator("celery_broker_url")
    @classmethod
    def _celery_broker_scheme(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not value.strip().startswith(("redis://", "rediss://")):
            raise ValueError("must be a redis:// or rediss:// URL")
        return value.strip()

    @model_validator(mode="after")
    def _celery_is_configured(self) -> Self:
        if self.job_backend != "celery":
            return self
        broker = self.resolved_celery_broker_url
        if broker is None or not broker.startswith(("redis://", "rediss://")):
            raise ValueError(
                "LEXBASE_JOB_BACKEND=celery needs a redis:// broker: set "
                "LEXBASE_CELERY_BROKER_URL or LEXBASE_REDIS_URL"
            )
        # A message held longer than this is delivered again while its job may still run.
        if self.celery_visibility_timeout_seconds <= self.job_lease_seconds:
            raise ValueError(
                "LEXBASE_CELERY_VISIBILITY_TIMEOUT_SECONDS must exceed LEXBASE_JOB_LEASE_SECONDS"
            )
        return self

    @model_validator(mode="after")
    def _secret_is_strong_outside_development(self) -> Self:
        if self.env is Environment.DEVELOPMENT:
            return self
        secret = self.secret_key.get_secret_value()
        lowered = secret.lower()
        if (
            secret == DEV_SECRET_KEY
            or len(secret) < MIN_SECRET_LENGTH
            or any(marker in lowered for marker in _PLACEHOLDER_MARKERS)
        ):
            raise ValueError(
                f"LEXBASE_SECRET_KEY must be a random value of at least {MIN_SECRET_LENGTH} "
                f"characters when LEXBASE_ENV={self.env.value} "
                "(generate one with `lexbase gen-secrets`)",
            )
        return self

    @property
    def is_production(self) -> bool:
        return self.env is Environment.PRODUCTION

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'lexbase.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def resolved_celery_broker_url(self) -> str | None:
        return self.celery_broker_url or self.redis_url

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def resolved_model_dir(self) -> Path:
        return self.model_dir or self.data_dir / "models"

    @property
    def max_request_bytes(self) -> int:
        return self.max_request_mb * 1024 * 1024


class ConfigurationError(Exception):
    """Raised with one human-readable line naming the offending setting."""


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning validation failures into one clear line per setting."""
    from pydantic import ValidationError

    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            message = error["msg"].removeprefix("Value error, ")
            if error["loc"]:
                field = "_".join(str(part) for part in error["loc"])
                message = f"LEXBASE_{field.upper()}: {message}"
            problems.append(message)
        raise ConfigurationError("invalid configuration: " + "; ".join(problems)) from None
