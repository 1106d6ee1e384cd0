"""Shopify order webhooks in-process, with Shopify's documented sample payloads
(tests/fixtures/shopify): signature, purchases idempotent on the order id, refunds."""

import base64
import hashlib
import hmac
import json
from pathlib import Path

import pytest

from chalicelib.storage import credentials, source_keys

FIXTURES = Path(__file__).parent / "fixtures" / "shopify"
ROUTE = "/projects/acme/sources/shopify"
SECRET = "shpss_0123456789abcdef"
CUSTOMER = "115310627314723954"  # the sample order's customer id


def sample(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def signature(raw: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest()).decode()


@pytest.fixture
def shop(project, tmp_path, monkeypatch):
    monkeypatch.setenv(credentials.KEY_FILE_VARIABLE, str(tmp_path / "credentials.key"))
    source_keys.set_shopify_secret("acme", SECRET)


def test_the_shopify_secret_is_stored_sealed(shop):
    """GIVEN a shop's secret set through the CLI's function (regression: it was stored as given)
    WHEN the stored item is read THEN the secret is not in it, and it still opens to verify."""
    from chalicelib.storage.tables import SourceKeyModel

    stored = [item.secret for item in SourceKeyModel.scan() if item.key_id == "shopify"]
    assert len(stored) == 1 and SECRET not in stored[0]
    assert source_keys.shopify_secret("acme") == SECRET


def deliver(api, topic: str, raw: bytes, sig: str | None = None, path: str = ROUTE):
    headers = {
        "x-shopify-topic": topic,
        "x-shopify-shop-domain": "jsmith.myshopify.com",
        "x-shopify-hmac-sha256": signature(raw) if sig is None else sig,
    }
    return api.call("POST", path, raw=raw, key="", headers=headers)


def test_an_order_becomes_one_purchase_of_its_customer(api, shop):
    # GIVEN Shopify's sample order, signed with the shop's secret
    raw = sample("orders_create.json")
    # WHEN it arrives as orders/create
    status, result = deliver(api, "orders/create", raw)
    # THEN the customer's profile has one order of total_price, and the customer's email
    assert status == 200, result
    assert result == {
        "order_id": "820982911946154508",
        "profile_id": CUSTOMER,
        "status": "accepted",
    }
    profile = api.get(f"/profiles/{CUSTOMER}")[1]
    assert (profile["behaviour"]["orders"], profile["behaviour"]["revenue"]) == (1, 404.95)
    assert profile["behaviour"]["last_order_at"] == "2022-01-01T00:00:00Z"
    assert profile["attributes"] == {"email": "john@example.com"}


def test_create_and_paid_of_one_order_and_redeliveries_count_once(api, shop):
    raw = sample("orders_create.json")
    deliver(api, "orders/create", raw)
    for topic in ("orders/paid", "orders/create", "orders/paid"):
        status, result = deliver(api, topic, raw)
        assert (status, result["status"]) == (200, "duplicate")
    behaviour = api.get(f"/profiles/{CUSTOMER}")[1]["behaviour"]
    assert (behaviour["orders"], behaviour["revenue"]) == (1, 404.95)


def test_a_refund_lowers_the_revenue_once(api, shop):
    # GIVEN the sample order received
    deliver(api, "orders/create", sample("orders_create.json"))
    # WHEN Shopify's sample refund of it arrives (twice: a redelivery)
    raw = sample("refunds_create.json")
    for expected in ("accepted", "duplicate"):
        status, result = deliver(api, "refunds/create", raw)
        assert (status, result["status"], result["amount"]) == (200, expected, 75.0)
    # THEN revenue is net of the refund's successful transaction; the order still counts
    behaviour = api.get(f"/profiles/{CUSTOMER}")[1]["behaviour"]
    assert (behaviour["orders"], behaviour["revenue"]) == (1, 329.95)
    assert behaviour["average_order_value"] == 329.95


def test_a_refund_of_an_unknown_order_is_ignored(api, shop):
    status, result = deliver(api, "refunds/create", sample("refunds_create.json"))
    assert status == 200 and result["ignored"] == "unknown order"
    assert api.get(f"/profiles/{CUSTOMER}")[0] == 404


def test_a_refund_without_transactions_uses_its_line_items():
    from chalicelib.services.shopify_orders import refunded_amount

    refund = json.loads(sample("refunds_create.json"))
    del refund["transactions"]
    assert refunded_amount(refund) == 109.98


def test_a_guest_order_goes_to_its_email(api, shop):
    order = json.loads(sample("orders_create.json"))
    order["customer"] = None
    raw = json.dumps(order).encode()
    status, result = deliver(api, "orders/paid", raw)
    assert (status, result["profile_id"]) == (200, "jon@example.com")


@pytest.mark.parametrize(
    "sig",
    [
        "",
        "not base64",
        signature(b"another body"),
        signature(sample("orders_create.json"), "another secret"),
    ],
)
def test_a_bad_signature_is_401_and_stores_nothing(api, shop, sig):
    status, body = deliver(api, "orders/create", sample("orders_create.json"), sig)
    assert status == 401 and body["error"]["code"] == "unauthorized"
    assert api.get(f"/profiles/{CUSTOMER}")[0] == 404


def test_a_project_without_a_shop_secret_refuses_every_webhook(api):
    raw = sample("orders_create.json")
    assert deliver(api, "orders/create", raw)[0] == 401
    assert api.get(f"/profiles/{CUSTOMER}")[0] == 404


def test_a_signed_but_altered_body_is_401(api, shop):
    raw = sample("orders_create.json")
    altered = raw.replace(b'"total_price": "404.95"', b'"total_price": "4.95"')
    assert altered != raw
    assert deliver(api, "orders/create", altered, signature(raw))[0] == 401


def test_other_topics_are_acknowledged_and_ignored(api, shop):
    raw = b'{"id": 1}'
    status, result = deliver(api, "customers/create", raw)
    assert status == 200 and "ignored" in result


def test_an_order_without_a_total_is_400_naming_the_field(api, shop):
    order = json.loads(sample("orders_create.json"))
    del order["total_price"]
    status, body = deliver(api, "orders/create", json.dumps(order).encode())
    assert status == 400 and body["error"]["path"] == "/total_price"
    assert api.get(f"/profiles/{CUSTOMER}")[0] == 404


def test_erasing_the_customer_forgets_its_orders(api, shop):
    from chalicelib.storage.tables import IdentityLinkModel

    deliver(api, "orders/create", sample("orders_create.json"))
    assert api.delete(f"/profiles/{CUSTOMER}")[0] == 200
    assert list(IdentityLinkModel.scan()) == []
