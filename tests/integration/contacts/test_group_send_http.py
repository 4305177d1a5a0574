"""Sending to groups and contacts over HTTP: one message per number, opt-outs
refused and counted, contact fields as template variables."""

from __future__ import annotations

from uuid import UUID

import pytest
from litestar.testing import TestClient

from adapters.bootstrap.container import Container
from tests.support.campaign_accounts import Account, accepted_messages, new_account


@pytest.fixture
def account(container: Container) -> Account:
    return new_account(container)


def make_group(client: TestClient, account: Account, name: str, phones: list[str]) -> str:
    group = client.post("/v1/contacts/groups", headers=account.headers,
                        json={"name": name}).json()["data"]["id"]
    for index, phone in enumerate(phones):
        created = client.post("/v1/contacts", headers=account.headers, json={
            "phone": phone, "first_name": f"F{phone[-3:]}", "group_id": group,
            "custom_fields": {"code": f"C{index}"}})
        if created.status_code == 409:  # already a contact: add it to this group too
            contact_id = created.json()["error"]["details"]["contact_id"]
            client.post("/v1/contacts/import", headers=account.headers, json={
                "contacts": [{"phone": phone}], "group_id": group})
            assert contact_id
    return str(group)


def test_a_group_send_deduplicates_and_respects_opt_outs(
    client: TestClient, account: Account, container: Container
) -> None:
    vip = make_group(client, account, "VIP", ["+447700900301", "+447700900302",
                                              "+447700900303"])
    news = make_group(client, account, "News", ["+447700900303", "+447700900304"])
    client.post("/v1/contacts/opt-outs", headers=account.headers,
                json={"phone": "+447700900302"})
    response = client.post("/v1/sms/bulk", headers=account.headers, json={
        "from": "Acme", "body": "Hi {{first_name}}, code {{code}}",
        "recipients": [{"to": "07700 900301", "variables": {"first_name": "Explicit",
                                                             "code": "X"}},
                       {"to": "+447700900399", "variables": {"first_name": "Z", "code": "Z"}},
                       {"to": "12", "variables": {}}],
        "groupIds": [vip, news]})
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["recipientsSent"] == 4  # 301 (explicit), 399, 303, 304
    # 301 is explicit and in VIP; 303 is one contact in two groups, met once.
    assert data["duplicatesRemoved"] == 1
    assert (data["optedOut"], data["optedOutRecipients"]) == (1, ["+447700900302"])
    assert [r["to"] for r in data["invalidRecipients"]] == ["12"]
    sent = {e.destination: e.body for e in accepted_messages(container, UUID(data["batch_id"]))}
    assert sent == {
        "+447700900301": "Hi Explicit, code X",
        "+447700900399": "Hi Z, code Z",
        "+447700900303": "Hi F303, code C2",
        "+447700900304": "Hi F304, code C1",
    }


def test_send_to_all_contacts_and_to_chosen_contacts(
    client: TestClient, account: Account, container: Container
) -> None:
    make_group(client, account, "All", ["+447700900401", "+447700900402"])
    everyone = client.post("/v1/sms/send", headers=account.headers, json={
        "from": "Acme", "body": "Hello {{name}}", "sendToAllContacts": True}).json()["data"]
    assert everyone["recipientsSent"] == 2
    contact = client.get("/v1/contacts", headers=account.headers,
                         params={"search": "900402"}).json()["data"][0]
    chosen = client.post("/v1/sms/send", headers=account.headers, json={
        "from": "Acme", "body": "Hello {{name}}", "to": "+447700900402",
        "contactIds": [contact["id"]]}).json()["data"]
    assert (chosen["recipientsSent"], chosen["duplicatesRemoved"]) == (1, 1)
    other = new_account(container)
    refused = client.post("/v1/sms/send", headers=other.headers, json={
        "from": "Acme", "body": "x", "contactIds": [contact["id"]]})
    assert (refused.status_code, refused.json()["error"]["code"]) == (404, "NOT_FOUND")
    missing = client.post("/v1/sms/send", headers=account.headers,
                          json={"from": "Acme", "body": "x"})
    assert missing.json()["error"]["code"] == "VALIDATION_ERROR"
