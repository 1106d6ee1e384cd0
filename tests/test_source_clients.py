"""The official client libraries against the local stack: Segment's `segment-analytics-python`
and RudderStack's `rudder-sdk-python`, pointed at the project's source by their host alone, with a
write key made by the CLI; the results read back through our API."""

import re

import pytest
import requests
from rudderstack.analytics.client import Client as RudderClient
from running_stack import LocalStack
from segment.analytics.client import Client as SegmentClient

CLIENTS = {"segment": SegmentClient, "rudder": RudderClient}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    s = LocalStack(tmp_path_factory.mktemp("data"), demo_profiles=20).start()
    yield s
    if s.proc.poll() is None:
        s.stop()


def new_write_key(stack) -> tuple[str, str]:
    out = stack.cli("create-write-key", "--project", "demo")
    assert out.returncode == 0, out.stderr
    return (
        re.search(r"^write key: (\S+)$", out.stdout, re.M).group(1),
        re.search(r"^write key id: (\S+)$", out.stdout, re.M).group(1),
    )


def host(stack) -> str:
    return f"{stack.api}/projects/demo/sources/segment"


def send_shop_traffic(client, prefix: str, users: int, views: int) -> None:
    for u in range(users):
        user = f"{prefix}-{u}"
        client.identify(
            user,
            {"email": f"{user}@example.com", "plan": "gold", "address": {"city": "Utrecht"}},
            message_id=f"{user}-identify",
        )
        for k in range(views):
            client.track(
                user, "Product Viewed", {"product_id": f"p{k}"}, message_id=f"{user}-view-{k}"
            )
        client.track(user, "Product Added", {"product_id": "p0"}, message_id=f"{user}-add")
        client.track(
            user,
            "Order Completed",
            {"order_id": f"{user}-o1", "revenue": 20.5, "total": 25.0, "products": [{"id": "p0"}]},
            message_id=f"{user}-order",
        )
        client.page(user, name="Home", message_id=f"{user}-page")


@pytest.mark.parametrize("library", sorted(CLIENTS))
def test_an_official_client_sends_by_changing_only_its_host(stack, library):
    # GIVEN the official client with a write key from the CLI and our source as its host
    write_key, _ = new_write_key(stack)
    errors = []
    client = CLIENTS[library](
        write_key, host=host(stack), on_error=lambda e, batch: errors.append(e), max_retries=2
    )
    # WHEN it sends a shop's traffic, and then all of it again (a redelivery)
    for _ in range(2):
        send_shop_traffic(client, library, users=6, views=4)
        client.flush()
    client.shutdown()
    # THEN every message was taken, and each counted once, read back through our API
    assert errors == []
    for u in range(6):
        status, profile = stack.call("GET", f"/projects/demo/profiles/{library}-{u}")
        assert status == 200
        assert profile["attributes"] == {"email": f"{library}-{u}@example.com", "plan": "gold"}
        b = profile["behaviour"]
        assert (b["product_views"], b["add_to_cart"], b["page_views"]) == (4, 1, 1)
        assert (b["orders"], b["revenue"]) == (1, 20.5)


@pytest.mark.parametrize("library", sorted(CLIENTS))
def test_an_anonymous_visitor_becomes_the_user_who_logs_in(stack, library):
    write_key, _ = new_write_key(stack)
    client = CLIENTS[library](write_key, host=host(stack), sync_mode=True)
    anonymous = f"anon-{library}"
    client.track(anonymous_id=anonymous, event="Product Viewed", message_id=f"{library}-a1")
    client.track(anonymous_id=anonymous, event="Product Added", message_id=f"{library}-a2")
    assert stack.call("GET", f"/projects/demo/profiles/anon:{anonymous}")[0] == 200
    client.identify(f"{library}-buyer", {"email": "b@example.com"}, anonymous_id=anonymous)
    client.track(anonymous_id=anonymous, event="Checkout Started", message_id=f"{library}-a3")
    assert stack.call("GET", f"/projects/demo/profiles/anon:{anonymous}")[0] == 404
    status, buyer = stack.call("GET", f"/projects/demo/profiles/{library}-buyer")
    b = buyer["behaviour"]
    assert (b["product_views"], b["add_to_cart"], b["checkouts"]) == (1, 1, 1)


def test_a_write_key_rotated_by_the_cli_stops_working(stack):
    write_key, key_id = new_write_key(stack)
    url = host(stack) + "/v1/batch"
    batch = {"batch": [{"type": "track", "userId": "rot", "event": "X", "messageId": "r1"}]}
    assert requests.post(url, json=batch, auth=(write_key, ""), timeout=30).status_code == 200
    out = stack.cli("rotate-write-key", "--project", "demo", key_id)
    assert out.returncode == 0, out.stderr
    new_key = re.search(r"^write key: (\S+)$", out.stdout, re.M).group(1)
    assert requests.post(url, json=batch, auth=(write_key, ""), timeout=30).status_code == 401
    assert requests.post(url, json=batch, auth=(new_key, ""), timeout=30).status_code == 200


def test_a_signed_shopify_order_over_http_counts_once(stack):
    # GIVEN the shop's secret set with the CLI and Shopify's sample order, signed with it
    import base64
    import hashlib
    import hmac
    from pathlib import Path

    out = stack.cli("set-shopify-secret", "--project", "demo", "--secret", "shpss_e2e")
    assert out.returncode == 0, out.stderr
    raw = (Path(__file__).parent / "fixtures" / "shopify" / "orders_create.json").read_bytes()
    signature = base64.b64encode(hmac.new(b"shpss_e2e", raw, hashlib.sha256).digest()).decode()
    url = f"{stack.api}/projects/demo/sources/shopify"
    # WHEN it arrives as orders/create and orders/paid, and once with a wrong signature
    for topic, sig, expected in (
        ("orders/create", signature, 200),
        ("orders/paid", signature, 200),
        ("orders/create", "AAAA" + signature[4:], 401),
    ):
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": sig,
        }
        assert requests.post(url, data=raw, headers=headers, timeout=30).status_code == expected
    # THEN the customer has one order of the sample's total
    status, profile = stack.call("GET", "/projects/demo/profiles/115310627314723954")
    assert (profile["behaviour"]["orders"], profile["behaviour"]["revenue"]) == (1, 404.95)
