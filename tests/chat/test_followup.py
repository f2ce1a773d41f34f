"""Follow-up questions made standalone for retrieval: the previous question's words carried
over, the previous answer's documents looked in first — through HTTP and as a function."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lexbase.app import create_app
from lexbase.chat.followup import is_follow_up, standalone
from tests.chat.test_conversations import ask, assert_quotes_verbatim, conversation
from tests.chat.test_conversations import indexed as index_document
from tests.conftest import SettingsFactory, running
from tests.factories import Tenant

AGREEMENT = (
    b"MASTER SERVICES AGREEMENT\n\n"
    b"This Master Services Agreement is made between Northwind Traders Inc. and "
    b"Contoso Ltd.\n\n"
    b"1. Term. The term of this Agreement is three years from March 1, 2024.\n\n"
    b"2. Governing Law. This Agreement is governed by the laws of the State of Delaware.\n"
)
LEASE = (
    b"COMMERCIAL LEASE\n\n"
    b"This Lease is made between Harbor Properties LLC and Fabrikam Inc.\n\n"
    b"1. Term. The term of this Lease is five years from the commencement date.\n\n"
    b"2. Rent. The monthly rent is $12,000, payable in advance.\n"
)


@dataclass
class Turn:
    role: str
    content: str
    citations: list[dict[str, Any]] = field(default_factory=list)


def test_a_question_that_stands_alone_is_searched_as_it_is() -> None:
    history = [Turn("user", "Which state's law governs the agreement?"), Turn("assistant", "x")]
    query = standalone("What is the monthly rent under the commercial lease?", history)
    assert query.text == "What is the monthly rent under the commercial lease?"
    assert query.focus == ()


def test_a_follow_up_carries_the_previous_words_and_documents() -> None:
    history = [
        Turn("user", "Which state's law governs the services agreement?"),
        Turn("assistant", "Delaware [1].", [{"document_id": "d1"}, {"document_id": "d1"}]),
    ]
    query = standalone("And what about its term?", history)
    assert query.text.startswith("And what about its term?")
    assert {"state's", "law", "governs", "services", "agreement"} <= set(query.text.split())
    assert query.focus == ("d1",)
    assert is_follow_up("Does it renew?") and is_follow_up("What about termination?")
    assert not is_follow_up("Which party pays the taxes on the leased premises each year?")
    assert standalone("Does it renew?", []).text == "Does it renew?"  # nothing to lean on


async def test_a_follow_up_answers_from_the_document_the_conversation_was_about(
    make_settings: SettingsFactory, tenant: Tenant
) -> None:
    headers = tenant["paralegal"].headers
    async with running(create_app(make_settings(chat_answer_mode="extractive"))) as c:
        contract = await index_document(c, headers, AGREEMENT, "msa.txt")
        await index_document(c, headers, LEASE, "lease.txt")
        conversation_id = await conversation(c, headers)
        first = await ask(c, headers, conversation_id, "Which state's law governs the agreement?")
        assert {cite["document_id"] for cite in first["citations"]} == {contract}
        follow_up = await ask(c, headers, conversation_id, "And what is its term?")
        assert follow_up["citations"], follow_up
        assert {cite["document_id"] for cite in follow_up["citations"]} == {contract}
        assert any("three years" in cite["quote"] for cite in follow_up["citations"])
        # Asked on its own, the same words find the lease's term as well.
        fresh = await conversation(c, headers)
        alone = await ask(c, headers, fresh, "And what is its term?")
        assert any("five years" in cite["quote"] for cite in alone["citations"])
        await assert_quotes_verbatim(c, headers, follow_up)
