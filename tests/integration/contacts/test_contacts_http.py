"""The contacts API over HTTP on a real container: contacts, groups, tags,
imports and opt-outs."""

from __future__ import annotations

import pytest
from litestar.testing import TestClient

from adapters.bootstrap.container import Container
from tests.support.campaign_accounts import Account, new_account
from tests.support.keys import narrow_key


@pytest.fixture
def account(container: Container) -> Account:
    return new_account(container)


def restrict(container: Container, account: Account, permissions: list[str]) -> None:
    """Use a key holding only `permissions` from now on."""
    account.headers.update(narrow_key(container, account.account_id, permissions))


def test_contact_crud_normalises_and_scopes(
    client: TestClient, account: Account, container: Container
) -> None:
    created = client.post("/v1/contacts", headers=account.headers, json={
        "phone": "07700 900123", "firstName": "Kofi", "last_name": "Mensah",
        "email": "kofi@example.com", "reference": "crm-1", "custom_fields": {"tier": "gold"}})
    assert created.status_code == 201, created.text
    contact = created.json()["data"]
    assert (contact["phone"], contact["first_name"], contact["last_name"]) == (
        "+447700900123", "Kofi", "Mensah")
    again = client.post("/v1/contacts", headers=account.headers, json={"phone": "+447700900123"})
    assert again.status_code == 409
    assert again.json()["error"]["details"]["contact_id"] == contact["id"]
    patched = client.patch(f"/v1/contacts/{contact['id']}", headers=account.headers,
                           json={"email": "", "custom_fields": {"tier": "silver", "n": 2}})
    assert patched.json()["data"]["email"] is None
    assert patched.json()["data"]["custom_fields"] == {"tier": "silver", "n": 2}
    refused = client.patch(f"/v1/contacts/{contact['id']}", headers=account.headers,
                           json={"account_id": "other"})
    assert refused.json()["error"]["code"] == "VALIDATION_ERROR"

    other = new_account(container)
    assert client.get(f"/v1/contacts/{contact['id']}", headers=other.headers).status_code == 404
    assert client.delete(f"/v1/contacts/{contact['id']}",
                         headers=other.headers).status_code == 404

    assert client.delete(f"/v1/contacts/{contact['id']}",
                         headers=account.headers).status_code == 200
    assert client.get(f"/v1/contacts/{contact['id']}", headers=account.headers).status_code == 404
    # The number is free again once its contact is deleted.
    assert client.post("/v1/contacts", headers=account.headers,
                       json={"phone": "+447700900123"}).status_code == 201


def test_search_filters_and_pages(client: TestClient, account: Account) -> None:
    group = client.post("/v1/contacts/groups", headers=account.headers,
                        json={"name": "VIP"}).json()["data"]
    tag = client.post("/v1/contacts/tags", headers=account.headers,
                      json={"name": "newsletter"}).json()["data"]
    ids = []
    for index in range(7):
        body = {"phone": f"+44770091{index:04d}", "first_name": f"Name{index}",
                "last_name": "Smith" if index % 2 else "Jones"}
        if index < 3:
            body["group_id"] = group["id"]
        ids.append(client.post("/v1/contacts", headers=account.headers,
                               json=body).json()["data"]["id"])
    client.post(f"/v1/contacts/{ids[4]}/tags", headers=account.headers,
                json={"tag_id": tag["id"]})
    smiths = client.get("/v1/contacts", headers=account.headers,
                        params={"search": "smith"}).json()
    assert smiths["pagination"]["total"] == 3
    by_phone = client.get("/v1/contacts", headers=account.headers,
                          params={"search": "0910005"}).json()["data"]
    assert [c["id"] for c in by_phone] == [ids[5]]
    in_group = client.get("/v1/contacts", headers=account.headers,
                          params={"group_id": group["id"]}).json()["data"]
    assert sorted(c["id"] for c in in_group) == sorted(ids[:3])
    tagged = client.get("/v1/contacts", headers=account.headers,
                        params={"tag_id": tag["id"]}).json()["data"]
    assert [(c["id"], c["tags"]) for c in tagged] == [(ids[4], ["newsletter"])]

    seen, cursor = [], None
    while True:
        params = {"page_size": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/contacts", headers=account.headers, params=params).json()
        seen += [c["id"] for c in page["data"]]
        cursor = page["pagination"]["cursor"]
        if not page["pagination"]["has_more"]:
            break
    assert seen == list(reversed(ids))

    groups = client.get("/v1/contacts/groups", headers=account.headers).json()["data"]
    assert [(g["name"], g["contact_count"]) for g in groups] == [("VIP", 3)]
    untag = client.delete(f"/v1/contacts/{ids[4]}/tags/{tag['id']}", headers=account.headers)
    assert untag.json()["data"]["tags"] == []
    assert client.delete(f"/v1/contacts/groups/{group['id']}",
                         headers=account.headers).status_code == 200
    assert client.get("/v1/contacts", headers=account.headers).json()["pagination"]["total"] == 7
    assert client.get("/v1/contacts", headers=account.headers,
                      params={"group_id": group["id"]}).status_code == 404


def test_permissions_are_checked(client: TestClient, account: Account, container: Container
                                 ) -> None:
    restrict(container, account, ["contacts.read"])
    assert client.get("/v1/contacts", headers=account.headers).status_code == 200
    denied = client.post("/v1/contacts", headers=account.headers, json={"phone": "+447700900999"})
    assert (denied.status_code, denied.json()["error"]["code"]) == (403, "FORBIDDEN")
    restrict(container, account, ["sms.send"])
    assert client.get("/v1/contacts/groups", headers=account.headers).status_code == 403


MESSY_CSV = (
    "\ufeffphone,name,email,tier\r\n"
    "+447700900001,Alice Smith,alice@example.com,VIP\r\n"
    '07700 900002,"Bob Jones, Jr.",bob@example.com,"Gold, annual"\r\n'
    "+447700900001,Alice Again,,VIP\n"
    "not-a-phone,Carl,carl@example.com,X\n"
    "+447700900003,Dee,not-an-email,\n"
    "+447700900004,Eve\n"
    "\n"
    '"+447700900005","Multi\nLine",m@example.com,\n'
    "+447700900006,Existing Person,,\n"
    "+447700900007,New Name,,Platinum"
)


def test_a_messy_csv_gives_the_exact_report(client: TestClient, account: Account) -> None:
    for phone, first, last in (("+447700900006", "Existing", "Person"),
                               ("+447700900007", "Old", None)):
        client.post("/v1/contacts", headers=account.headers,
                    json={"phone": phone, "first_name": first, "last_name": last})
    group = client.post("/v1/contacts/groups", headers=account.headers,
                        json={"name": "Imported"}).json()["data"]
    response = client.post(
        f"/v1/contacts/groups/{group['id']}/import", content=MESSY_CSV.encode(),
        headers={**account.headers, "Content-Type": "text/csv"})
    assert response.status_code == 200, response.text
    report = response.json()["data"]
    assert {k: report[k] for k in ("imported", "created", "updated", "skipped", "invalid",
                                   "total")} == {
        "imported": 6, "created": 3, "updated": 1, "skipped": 2, "invalid": 3, "total": 9}
    assert report["invalid_rows"] == [
        {"line": 5, "phone": "not-a-phone", "reason": report["invalid_rows"][0]["reason"]},
        {"line": 6, "phone": "+447700900003", "reason": "email is not an email address"},
        {"line": 7, "phone": "+447700900004", "reason": "expected 4 fields, found 2"},
    ]
    members = client.get("/v1/contacts", headers=account.headers,
                         params={"group_id": group["id"]}).json()["data"]
    by_phone = {c["phone"]: c for c in members}
    assert sorted(by_phone) == ["+447700900001", "+447700900002", "+447700900005",
                                "+447700900006", "+447700900007"]
    bob = by_phone["+447700900002"]
    assert (bob["first_name"], bob["last_name"], bob["custom_fields"]) == (
        "Bob", "Jones, Jr.", {"tier": "Gold, annual"})
    assert by_phone["+447700900001"]["first_name"] == "Alice"  # the first row wins
    assert by_phone["+447700900005"]["first_name"] == "Multi\nLine"  # a quoted newline
    assert by_phone["+447700900007"]["first_name"] == "New"
    assert by_phone["+447700900007"]["custom_fields"] == {"tier": "Platinum"}
    job = client.get(f"/v1/contacts/imports/{report['id']}", headers=account.headers).json()
    assert (job["data"]["status"], job["data"]["imported"], job["data"]["invalid"]) == (
        "completed", 6, 3)


def test_a_csv_without_a_phone_column_is_refused(client: TestClient, account: Account) -> None:
    group = client.post("/v1/contacts/groups", headers=account.headers,
                        json={"name": "G"}).json()["data"]
    response = client.post(f"/v1/contacts/groups/{group['id']}/import",
                           content=b"name,email\nAl,a@b.co\n",
                           headers={**account.headers, "Content-Type": "text/csv"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_json_import_and_opt_outs(client: TestClient, account: Account) -> None:
    group = client.post("/v1/contacts/groups", headers=account.headers,
                        json={"name": "Json"}).json()["data"]
    response = client.post("/v1/contacts/import", headers=account.headers, json={
        "contacts": [{"phone": "07700900201", "firstName": "Kofi"},
                     {"phone": "+447700900202", "firstName": "Ama"},
                     {"phone": "07700900201"}, {"phone": "123"}],
        "groupId": group["id"]})
    report = response.json()["data"]
    assert {k: report[k] for k in ("imported", "created", "skipped", "invalid", "total")} == {
        "imported": 3, "created": 2, "skipped": 1, "invalid": 1, "total": 4}
    assert report["invalid_rows"][0]["line"] == 4

    opted = client.post("/v1/contacts/opt-outs", headers=account.headers,
                        json={"phone": "07700900202", "source": "call-centre"})
    assert opted.status_code == 201
    assert opted.json()["data"]["phone"] == "+447700900202"
    listed = client.get("/v1/contacts/opt-outs", headers=account.headers).json()
    assert [(o["phone"], o["source"]) for o in listed["data"]] == [
        ("+447700900202", "call-centre")]
    # Opted out, still in its group.
    groups = client.get("/v1/contacts/groups", headers=account.headers).json()["data"]
    assert groups[0]["contact_count"] == 2
