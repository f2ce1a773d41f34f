"""Study and deposition questions, each answered by the document's own words.

Questions are drawn from a document's analysis, never invented: the facts of a caption or
preamble (court, parties, docket, dates, disposition, governing law) make the `easy` ones;
a clause the classifiers found makes a `medium` question answered by its best sentence, or
a `hard` one when the clause runs over several sentences that must be read together. Every
answer is the quoted text of its sources (whitespace joined), so it verifies by construction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lexbase.intelligence.schemas import AnalysisOut, SourceOut

# One question per CUAD clause category, asked as a reviewer would.
CLAUSE_QUESTIONS = {
    "Affiliate License-Licensee": "Do the licensee's affiliates receive any licence rights?",
    "Affiliate License-Licensor": "Do the licensor's affiliates grant or hold licence rights?",
    "Anti-Assignment": "Can a party assign the agreement, and whose consent does it need?",
    "Audit Rights": "What audit or inspection rights does a party have?",
    "Cap On Liability": "How is a party's liability capped?",
    "Change Of Control": "What happens on a change of control of a party?",
    "Competitive Restriction Exception": "What exceptions limit the competitive restrictions?",
    "Covenant Not To Sue": "Does a party agree not to sue or not to challenge rights?",
    "Exclusivity": "What exclusivity does the agreement grant or require?",
    "Expiration Date": "When does the agreement's initial term end?",
    "Governing Law": "Which jurisdiction's law governs the agreement?",
    "Insurance": "What insurance must a party maintain?",
    "Ip Ownership Assignment": "Who owns intellectual property created under the agreement?",
    "Irrevocable Or Perpetual License": "Is any licence irrevocable or perpetual?",
    "Joint Ip Ownership": "Is any intellectual property jointly owned?",
    "License Grant": "What licence does the agreement grant?",
    "Minimum Commitment": "What minimum purchase, volume or spend is committed?",
    "Most Favored Nation": "Does a most-favoured-nation clause apply?",
    "No-Solicit Of Customers": "Is a party barred from soliciting the other's customers?",
    "No-Solicit Of Employees": "Is a party barred from soliciting or hiring employees?",
    "Non-Compete": "What non-compete restriction binds a party?",
    "Non-Disparagement": "Does a party agree not to disparage the other?",
    "Non-Transferable License": "Are the licences non-transferable?",
    "Notice Period To Terminate Renewal": "How much notice stops the agreement from renewing?",
    "Post-Termination Services": "What must a party do after the agreement ends?",
    "Price Restrictions": "What restricts changes to prices?",
    "Renewal Term": "How and for how long does the agreement renew?",
    "Revenue/Profit Sharing": "How are revenue or profits shared?",
    "Rofr/Rofo/Rofn": "Does a right of first refusal, offer or negotiation apply?",
    "Termination For Convenience": "Can a party terminate for convenience, and on what notice?",
    "Third Party Beneficiary": "Does the agreement name third-party beneficiaries?",
    "Uncapped Liability": "Which liabilities are not capped?",
    "Unlimited/All-You-Can-Eat-License": "Is any licence unlimited in use or quantity?",
    "Volume Restriction": "What limits apply to volumes or usage?",
    "Warranty Duration": "How long do the warranties last?",
}
FACT_QUESTIONS = {
    "court": "Which court decided the case?",
    "docket_number": "What is the docket number?",
    "decision_date": "When was the decision issued?",
    "filing_date": "When was it filed?",
    "disposition": "How did the court dispose of the case?",
    "governing_law": "Which jurisdiction's law governs the agreement?",
}
Difficulty = Literal["easy", "medium", "hard"]


@dataclass(frozen=True)
class Question:
    question: str
    answer: str
    sources: list[SourceOut]
    difficulty: Difficulty


def questions_from(
    analysis: AnalysisOut, count: int, difficulty: Difficulty | None = None
) -> list[Question]:
    """Up to `count` questions (of one difficulty when asked), facts first, then clauses by
    the classifiers' confidence."""
    found = _facts(analysis) + _clauses(analysis)
    if difficulty is not None:
        found = [q for q in found if q.difficulty == difficulty]
    return found[:count]


def _answer(sources: list[SourceOut]) -> str:
    return " ".join(" ".join(s.quote.split()) for s in sources)


def _facts(analysis: AnalysisOut) -> list[Question]:
    found = []
    parties = [p for p in analysis.parties if p.sources]
    if len(parties) >= 2:
        sources = [p.sources[0] for p in parties]
        asked = (
            "Who are the parties?"
            if analysis.analysis_type == "case"
            else ("Who are the parties to the agreement?")
        )
        found.append(Question(asked, _answer(sources), sources, "easy"))
    for name, question in FACT_QUESTIONS.items():
        value = analysis.fields.get(name)
        if value is not None and value.value is not None and value.sources:
            found.append(Question(question, _answer(value.sources[:1]), value.sources[:1], "easy"))
    return [q for q in found if q.question not in _clause_asked(analysis)]


def _clause_asked(analysis: AnalysisOut) -> set[str]:
    """Fact questions a clause question already asks (governing law)."""
    return {
        CLAUSE_QUESTIONS[c.category]
        for c in analysis.clauses
        if c.present and c.sources and c.category in CLAUSE_QUESTIONS
    }


def _clauses(analysis: AnalysisOut) -> list[Question]:
    present = sorted(
        (c for c in analysis.clauses if c.present and c.sources and c.category in CLAUSE_QUESTIONS),
        key=lambda c: -c.confidence,
    )
    found = []
    for clause in present:
        several = len(clause.sources) > 1
        sources = clause.sources[:3] if several else clause.sources
        found.append(
            Question(
                CLAUSE_QUESTIONS[clause.category],
                _answer(sources),
                sources,
                "hard" if several else "medium",
            )
        )
    return found
