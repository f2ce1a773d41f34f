"""Settings: environment parsing and refusal of weak secrets outside development."""

from __future__ import annotations

from pathlib import Path

import pytest

from lexbase.core.config import (
    DEV_SECRET_KEY,
    ConfigurationError,
    Environment,
    Settings,
    load_settings,
)

STRONG = "Zr8q1uN3vX0bT6yH4mK9pL2sW7cE5aJ1dF0gR3tY8uI"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for key in ("ENV", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "PORT", "DATA_DIR"):
        monkeypatch.delenv(f"LEXBASE_{key}", raising=False)


def test_defaults_are_embedded_development() -> None:
    settings = load_settings()
    assert settings.env is Environment.DEVELOPMENT
    assert settings.port == 8000
    assert settings.data_dir == Path("data")
    assert settings.is_sqlite
    assert settings.resolved_database_url.endswith("/data/lexbase.db")
    assert settings.redis_url is None
    assert settings.rate_limit_enabled is True
    assert settings.max_upload_mb == 50


def test_reads_prefixed_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LEXBASE_PORT", "9100")
    monkeypatch.setenv("LEXBASE_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("LEXBASE_CORS_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("LEXBASE_RATE_LIMIT_ENABLED", "false")
    settings = load_settings()
    assert settings.port == 9100
    assert settings.cors_origins == ["https://a.example", "https://b.example"]
    assert settings.rate_limit_enabled is False
    assert settings.resolved_database_url == f"sqlite+aiosqlite:///{tmp_path / 'd' / 'lexbase.db'}"


def test_reads_dotenv_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("LEXBASE_PORT=8123\nLEXBASE_LOG_LEVEL=debug\n")
    settings = load_settings()
    assert settings.port == 8123
    assert settings.log_level == "DEBUG"


def test_postgres_url_normalised_to_asyncpg() -> None:
    settings = Settings(database_url="postgresql://u:p@db:5432/lexbase")
    assert settings.database_url == "postgresql+asyncpg://u:p@db:5432/lexbase"
    assert not settings.is_sqlite


@pytest.mark.parametrize(
    "secret",
    [DEV_SECRET_KEY, "short", "changeme-changeme-changeme-changeme-123", "x" * 31],
)
@pytest.mark.parametrize("env", ["production", "test"])
def test_weak_secret_refused_outside_development(secret: str, env: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        load_settings(env=env, secret_key=secret)
    message = str(info.value)
    assert "LEXBASE_SECRET_KEY" in message
    assert "\n" not in message


def test_strong_secret_accepted_in_production() -> None:
    settings = load_settings(env="production", secret_key=STRONG)
    assert settings.is_production
    assert settings.secret_key.get_secret_value() == STRONG
    assert STRONG not in repr(settings)


@pytest.mark.parametrize(
    ("field", "value", "name"),
    [
        ("port", "eighty", "LEXBASE_PORT"),
        ("env", "staging", "LEXBASE_ENV"),
        ("database_url", "mysql://x/y", "LEXBASE_DATABASE_URL"),
        ("redis_url", "http://x", "LEXBASE_REDIS_URL"),
        ("log_level", "LOUD", "LEXBASE_LOG_LEVEL"),
        ("max_upload_mb", "0", "LEXBASE_MAX_UPLOAD_MB"),
    ],
)
def test_bad_setting_named_in_one_line(field: str, value: str, name: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        load_settings(**{field: value})
    message = str(info.value)
    assert message.startswith("invalid configuration: ")
    assert name in message
    assert "\n" not in message


def test_bad_rate_limit_notation_refused() -> None:
    with pytest.raises(ConfigurationError, match="LEXBASE_RATE_LIMIT_AUTH"):
        load_settings(rate_limit_auth="lots")


def test_env_example_documents_every_setting() -> None:
    example = (Path(__file__).resolve().parents[2] / ".env.example").read_text()
    undocumented = [
        name for name in Settings.model_fields if f"LEXBASE_{name.upper()}=" not in example
    ]
    assert undocumented == []
