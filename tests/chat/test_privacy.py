"""Personal data in a firm's documents never reaches an external model unless the firm turns
redaction off, and the answer reads as if it had: the tests read the request bodies the
provider received (a local server speaking Anthropic's API from its recorded shapes)."""

from __future__ import annotations

import json

import httpx

from lexbase.app import create_app
from tests.chat.test_conversations import ask, assert_quotes_verbatim, conversation, indexed
from tests.conftest import SettingsFactory, running
from tests.factories import Tenant
from tests.support.replay import replay_server

API = "/api/v1"
LETTER = (
    b"UNITED STATES DISTRICT COURT\nNORTHERN DISTRICT OF CALIFORNIA\n\n"
    b"JANE ROE,\nPlaintiff,\nv.\nNORTHWIND TRADERS INC.,\nDefendant.\n\n"
    b"SETTLEMENT AGREEMENT\n\n"
    b"This Settlement Agreement is made between Northwind Traders Inc. and Jane Roe.\n\n"
    b"1. Notices. Notices to the employee go to jane.roe@example.com or (415) 867-5309.\n\n"
    b"2. Payment. The severance is paid to routing number 021000021, account no. "
    b"4455667788. The employee's SSN is 212-55-4321.\n"
)
SECRETS = ("jane.roe@example.com", "(415) 867-5309", "021000021", "4455667788", "212-55-4321")


async def organization(c: httpx.AsyncClient, headers: dict[str, str], **change: object) -> dict:
    if change:
        response = await c.patch(f"{API}/organization", json=change, headers=headers)
    else:
        response = await c.get(f"{API}/organization", headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_external_models_get_placeholders_and_answers_get_the_data_back(
    make_settings: SettingsFactory, tenant: Tenant
) -> None:
    headers = tenant["attorney"].headers
    async with replay_server() as (server, base):
        settings = make_settings(
            llm_providers=["anthropic"], llm_anthropic_base_url=base, llm_retries=0
        )
        async with running(create_app(settings)) as c:
            policy = await organization(c, tenant.admin.headers)
            assert policy["id"] == tenant.organization_id
            assert policy["privacy"] == {"pii_redaction": "external", "redact_parties": False}
            await indexed(c, headers, LETTER, "severance.txt")
            conversation_id = await conversation(c, headers)

            server.answer = "Notices go to [EMAIL_1] [1]."
            message = await ask(c, headers, conversation_id, "Where do notices go?")
            sent = json.dumps(server.requests[-1][2])
            assert not [s for s in SECRETS if s in sent], sent
            assert "[EMAIL_1]" in sent and "Northwind Traders" in sent  # parties stay, by default
            assert message["content"].startswith("Notices go to jane.roe@example.com")
            assert message["grounded"] is True and message["model"].startswith("claude")
            await assert_quotes_verbatim(c, headers, message)

            # The firm counts its parties as personal data too.
            changed = await organization(c, tenant.admin.headers, redact_parties=True)
            assert changed["privacy"]["redact_parties"] is True
            server.answer = "The agreement is between [PARTY_1] and [PARTY_2] [1]."
            message = await ask(c, headers, conversation_id, "Who are the parties?")
            sent = json.dumps(server.requests[-1][2])
            assert "northwind traders" not in sent.lower() and "jane roe" not in sent.lower(), sent
            content = message["content"].lower()
            assert "northwind traders" in content and "jane roe" in content

            # Turned off, the model sees the documents as they are.
            await organization(c, tenant.admin.headers, pii_redaction="off")
            server.answer = "Notices go to the employee's e-mail [1]."
            await ask(c, headers, conversation_id, "Where do notices go?")
            sent = json.dumps(server.requests[-1][2])
            assert "jane.roe@example.com" in sent

            refused = await c.patch(
                f"{API}/organization", json={"pii_redaction": "all"}, headers=headers
            )
            assert refused.status_code == 403
            invalid = await c.patch(
                f"{API}/organization", json={"pii_redaction": "some"}, headers=tenant.admin.headers
            )
            assert invalid.status_code == 422
            assert (await organization(c, tenant.admin.headers))["privacy"]["pii_redaction"] == (
                "off"
            )
