"""Imports run one way: commands → app → tasks → domains → jobs engine / ingest library →
providers → core. A module may import its own layer or any layer below, never above.

Read from the source (every `import` and `from … import`, including those inside functions),
so a deferred import cannot hide a wrong direction. Migrations import no live module at all.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support.probe import run_fresh

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "lexbase"

LAYERS: dict[str, int] = {
    "core": 0,
    "providers": 1,
    "ingest": 2,
    "jobs": 2,
    "models": 3,
    "tasks": 4,
    "app": 5,
    "commands": 6,
    "__main__": 7,
    "__init__": 0,
}
DOMAIN = 3  # auth, users, apikeys, matters, documents, search, audit, health, realtime, …
# The jobs API (`GET /jobs`) is a domain's face on the engine: it authenticates callers.
MODULES: dict[str, int] = {"lexbase.jobs.router": DOMAIN, "lexbase.jobs.schemas": DOMAIN}

ALLOWED: set[tuple[str, str]] = set()


def layer_of(module: str) -> int:
    if module in MODULES:
        return MODULES[module]
    top = module.split(".")[1] if module.count(".") else "__init__"
    return LAYERS.get(top, DOMAIN)


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return {name for name in found if name == "lexbase" or name.startswith("lexbase.")}


SOURCES = sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts)


def test_the_layers_cover_the_package() -> None:
    assert len(SOURCES) > 100
    assert {layer_of(module_name(p)) for p in SOURCES} >= {0, 1, 2, DOMAIN, 5, 6}


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: module_name(p))
def test_imports_point_down(path: Path) -> None:
    module = module_name(path)
    upward = [
        imported
        for imported in sorted(imports_of(path))
        if layer_of(imported) > layer_of(module) and (module, imported) not in ALLOWED
    ]
    assert not upward, f"{module} imports upward: {upward}"


def test_ingest_is_a_pure_library() -> None:
    """Extraction, OCR, enrichment, chunking and embedding know no database, job or app."""
    for path in (PACKAGE / "ingest").rglob("*.py"):
        wrong = {
            imported
            for imported in imports_of(path)
            if not imported.startswith(("lexbase.ingest", "lexbase.providers", "lexbase.core"))
        }
        assert not wrong, f"{module_name(path)} imports {sorted(wrong)}"


def test_the_job_engine_knows_no_domain() -> None:
    for path in (PACKAGE / "jobs").rglob("*.py"):
        if layer_of(module_name(path)) == DOMAIN:
            continue
        wrong = {
            imported
            for imported in imports_of(path)
            if not imported.startswith(("lexbase.jobs", "lexbase.providers", "lexbase.core"))
        }
        assert not wrong, f"{module_name(path)} imports {sorted(wrong)}"


def test_migrations_import_no_live_module() -> None:
    for path in sorted((PACKAGE / "migrations" / "versions").glob("*.py")):
        assert not imports_of(path), f"{path.name} imports {sorted(imports_of(path))}"


def test_upward_imports_are_caught() -> None:
    """The check itself: a core module importing a domain would be reported."""
    assert layer_of("lexbase.documents.service") > layer_of("lexbase.core.db")
    assert layer_of("lexbase.app") > layer_of("lexbase.search.service")
    assert layer_of("lexbase.commands.cli") > layer_of("lexbase.app")


def test_a_process_that_only_runs_jobs_knows_every_table() -> None:
    """A worker's sweeper starts from `lexbase.tasks` alone: foreign keys between domains
    (a document's organization, say) must resolve there too."""
    probe = (
        "import lexbase.tasks\n"
        "from sqlalchemy.orm import configure_mappers\n"
        "from lexbase.core.db import Base\n"
        "configure_mappers()\n"
        "for table in Base.metadata.sorted_tables:\n"
        "    [fk.column for fk in table.foreign_keys]\n"
        "print(len(Base.metadata.tables))\n"
    )
    assert int(run_fresh(probe)) > 15
