"""Personal data replaced by placeholders before a prompt leaves, and put back in the answer."""

from __future__ import annotations

from lexbase.providers.llm import ChatMessage, Privacy
from lexbase.providers.llm.privacy import Redaction, StreamRestorer

TEXT = (
    "Employee Jane Roe (SSN 212-55-4321, jane.roe@example.com, phone (415) 867-5309) is paid "
    "by wire to routing number 021000021, account no. 4455667788, and reimbursed on card "
    "4111 1111 1111 1111. Order 4111 1111 1111 1112 and invoice 2024-118 are not personal."
)


def test_each_kind_of_personal_data_is_replaced() -> None:
    redaction = Redaction()
    redacted = redaction.text(TEXT)
    for secret in (
        "212-55-4321",
        "jane.roe@example.com",
        "(415) 867-5309",
        "021000021",
        "4455667788",
        "4111 1111 1111 1111.",
    ):
        assert secret not in redacted, secret
    assert "[SSN_1]" in redacted and "[EMAIL_1]" in redacted and "[PHONE_1]" in redacted
    assert "[ROUTING_1]" in redacted and "[ACCOUNT_1]" in redacted and "[CARD_1]" in redacted
    # A number failing the Luhn check is no card; ordinary references stay.
    assert "4111 1111 1111 1112" in redacted and "invoice 2024-118" in redacted
    assert redaction.restore(redacted) == TEXT


def test_the_same_value_gets_the_same_placeholder_across_messages() -> None:
    redaction = Redaction(names=("Jane Roe",))
    messages = redaction.messages(
        [
            ChatMessage("system", "Sources: Jane Roe wrote from jane.roe@example.com."),
            ChatMessage("user", "What did jane roe send to jane.roe@example.com?"),
        ]
    )
    assert messages[0].content == "Sources: [PARTY_1] wrote from [EMAIL_1]."
    assert messages[1].content == "What did [PARTY_1] send to [EMAIL_1]?"
    assert messages[0].role == "system" and messages[1].role == "user"


def test_streamed_placeholders_are_restored_even_when_split() -> None:
    redaction = Redaction()
    redaction.text("Write to jane.roe@example.com or call (415) 867-5309.")
    restorer = StreamRestorer(redaction)
    pieces = ["Write to [EMA", "IL_1", "] today", " or call [", "PHONE_1] [3]", " now [x"]
    shown = "".join(restorer.feed(p) for p in pieces) + restorer.flush()
    assert shown == "Write to jane.roe@example.com today or call (415) 867-5309 [3] now [x"


def test_policy_scope() -> None:
    assert Privacy("external").applies_to("openai") and not Privacy("external").applies_to("local")
    assert Privacy("all").applies_to("local")
    assert not Privacy("off").applies_to("anthropic")
