"""Contract values read by the rules (renewal term, notice period, liability cap) on the CUAD
contracts the clause model did not train on: how often a value given lies inside a clause
the experts labelled for it (precision), and how often a contract with such a labelled
clause gets a value (recall).

    .venv/bin/python benchmarks/contract_values_eval.py [../shared/eval/legalbench-cuad]

CUAD labels clauses, not values: "inside the labelled clause" is the check that can be made
(the value was read from the right sentence); whether it is the right words is not scored.
"""

from __future__ import annotations

import sys
from pathlib import Path

from lexbase.commands.clauses import Labels
from lexbase.intelligence.clauses import ClauseModel
from lexbase.intelligence.findings import CLAUSE_VALUES, analyze_contract

CUAD = Path(__file__).resolve().parents[2] / "shared" / "eval" / "legalbench-cuad"


def main(root: Path) -> None:
    labels = Labels.load(root)
    model = ClauseModel.load()
    files = labels.split(held_out=True)
    tally = {name: [0, 0, 0, 0] for name in CLAUSE_VALUES}  # given, inside, labelled, found
    for file in files:
        text = labels.text(file)
        analysis = analyze_contract(text, {}, model)
        for name, (categories, _, _) in CLAUSE_VALUES.items():
            truth = [s for c in categories for s in labels.spans.get((file, c), [])]
            value = analysis.fields[name]
            given = value.value is not None
            inside = given and any(
                a <= value.sources[0][0] and value.sources[0][1] <= b for a, b in truth
            )
            figures = tally[name]
            figures[0] += given
            figures[1] += inside
            figures[2] += bool(truth)
            figures[3] += bool(truth) and given
    print(f"{len(files)} held-out CUAD contracts")
    for name, (given, inside, labelled, found) in tally.items():
        precision = f"{100 * inside / given:5.1f}% ({inside}/{given})" if given else "n/a"
        recall = f"{100 * found / labelled:5.1f}% ({found}/{labelled})" if labelled else "n/a"
        print(f"{name:14} inside a labelled clause {precision:18} | labelled with a value {recall}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else CUAD)
