"""The scoping helper takes its wall tables from the matters domain; without them it refuses
to build a filter rather than let rows through unwalled."""

from __future__ import annotations

from tests.support.probe import run_fresh


def test_a_scope_without_the_wall_tables_fails_closed() -> None:
    probe = (
        "from lexbase.core.permissions import Role\n"
        "from lexbase.core.principal import Principal\n"
        "from lexbase.core.scope import scope_clause\n"
        "import sys\n"
        "assert 'lexbase.matters.models' not in sys.modules\n"
        "class Row:\n"
        "    organization_id = 1\n"
        "    matter_id = 2\n"
        "try:\n"
        "    scope_clause(Row, Principal('u', 'o', Role.ATTORNEY))\n"
        "except RuntimeError as exc:\n"
        "    print('refused:', exc)\n"
    )
    output = run_fresh(probe)
    assert output.startswith("refused: no wall tables registered"), output


def test_loading_the_matter_models_registers_the_walls() -> None:
    import lexbase.matters.models as matters
    from lexbase.core.scope import _walls

    assert _walls().matter is matters.Matter and _walls().member is matters.MatterMember
