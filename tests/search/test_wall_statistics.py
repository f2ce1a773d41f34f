"""Text behind a wall must not steer what a non-member's search returns.

The keyword stage scores a question's rarer words and leaves out common ones by counting how
often each occurs (search/terms.py). Counted over the whole firm, a made-up word written
behind a wall changed a non-member's results: with the word absent it was the rarest and was
scored alone (nothing found), with the word frequent behind the wall another word became the
rarest and was scored instead (its documents found). Counts are now taken over unwalled text.
"""

from __future__ import annotations

from lexbase.app import create_app
from tests.conftest import SettingsFactory, running
from tests.documents.helpers import upload, wait_done
from tests.factories import Tenant
from tests.matters.helpers import create_matter

QUERY = {"query": "zorblaxian indemnify", "mode": "keyword", "limit": 50}


async def non_member_sees(make_settings: SettingsFactory, tenant: Tenant) -> list[str]:
    # A fresh app each time: word counts are cached per process.
    async with running(create_app(make_settings())) as c:
        response = await c.post("/api/v1/search", json=QUERY, headers=tenant["viewer"].headers)
        assert response.status_code == 200, response.text
        return sorted(hit["document_id"] for hit in response.json()["results"])


async def test_walled_words_do_not_change_a_non_members_results(
    make_settings: SettingsFactory, tenant: Tenant
) -> None:
    async with running(create_app(make_settings())) as c:
        paralegal = tenant["paralegal"].headers
        for n in range(5):
            duty = "shall indemnify the customer" if n < 2 else "delivers the goods"
            body = f"Clause {n}. The supplier {duty} under order {n}.\n"
            accepted = await upload(c, paralegal, body.encode(), f"open-{n}.txt")
            await wait_done(c, paralegal, accepted["document"]["id"])
    before = await non_member_sees(make_settings, tenant)

    async with running(create_app(make_settings())) as c:
        attorney = tenant["attorney"].headers
        matter = await create_matter(c, tenant["attorney"], name="Project Z", restricted=True)
        for n in range(8):
            body = f"Zorblaxian protocol {n}: the zorblaxian key stays with counsel.\n"
            accepted = await upload(
                c, attorney, body.encode(), f"z-{n}.txt", matter_id=matter["id"]
            )
            await wait_done(c, attorney, accepted["document"]["id"])
    after = await non_member_sees(make_settings, tenant)
    assert after == before
