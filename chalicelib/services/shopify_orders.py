"""Shopify order webhooks as purchases and refunds.

- orders/create and orders/paid: one `purchase` event of the order's customer (profile id: the
  Shopify customer id; a guest order without a customer: its email), value `total_price`, event
  id `shopify-order-<order id>`, so the create and the paid of one order (and Shopify's
  redeliveries) count once. The customer's email and phone become attributes.
- refunds/create: one `refund` event (`shopify-refund-<refund id>`) of the order's profile, with
  the refunded amount (its successful refund transactions; without transactions, its line items'
  subtotals and taxes). A refund lowers the profile's revenue; its order still counts as an order.
  Refunds name their order, not the customer: the order -> profile link is kept when the order
  arrives; a refund of an order this source never received is answered 200 and ignored.
- Other topics are answered 200 and ignored (Shopify retries, then drops, a subscription that keeps
  failing).
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from ..infra.errors import ServiceError, Unauthorized, ValidationError
from ..profile_documents import merge_attributes
from ..storage import profile_table, source_keys
from ..validation import MAX_BODY_BYTES as MAX_ORDER_BYTES
from . import events, profiles

MAX_BODY_BYTES = MAX_ORDER_BYTES  # an order with many line items: the API's own body limit
ORDER_TOPICS = ("orders/create", "orders/paid")
REFUND_TOPIC = "refunds/create"
ORDER_LINK = "shopify-order:"  # identity link key of an order: the profile it belongs to


def verify(project_id: str, raw: bytes, signature: str | None) -> None:
    """401 unless `signature` is the base64 HMAC-SHA256 of the raw body with the project's shop
    secret (compared in constant time)."""
    secret = source_keys.shopify_secret(project_id)
    if not secret or not signature or len(signature) > 200:
        raise Unauthorized("missing or invalid X-Shopify-Hmac-Sha256 signature")
    expected = base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest()).decode()
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        raise Unauthorized("missing or invalid X-Shopify-Hmac-Sha256 signature")


def _amount(value, path: str) -> float:
    try:
        amount = float(value)
    except (TypeError, ValueError):
        raise ValidationError("expected an amount", path, "invalid_value") from None
    if not 0 <= amount < 1e9:
        raise ValidationError("expected an amount from 0 to 1e9", path, "out_of_range")
    return round(amount, 2)


def _order_id(value, path: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, str)) or str(value) == "":
        raise ValidationError("expected the order's id", path, "missing")
    return str(value)


def _profile_of_order(order: dict) -> tuple[str, dict]:
    """The order's profile id and the attributes it tells (email, phone)."""
    customer = order.get("customer") if isinstance(order.get("customer"), dict) else {}
    email = customer.get("email") or order.get("email") or order.get("contact_email")
    phone = customer.get("phone") or order.get("phone")
    attributes = {
        name: value
        for name, value in (("email", email), ("phone", phone))
        if isinstance(value, str) and value
    }
    customer_id = customer.get("id")
    if customer_id is not None and not isinstance(customer_id, bool):
        return str(customer_id), attributes
    if isinstance(email, str) and email:
        return email.strip().lower(), attributes
    raise ValidationError(
        "the order has neither a customer id nor an email", "/customer", "missing"
    )


def receive(project_id: str, topic: str, body) -> dict:
    if not isinstance(body, dict):
        raise ValidationError("expected an object", "/", "invalid_type")
    if topic in ORDER_TOPICS:
        return _order(project_id, body)
    if topic == REFUND_TOPIC:
        return _refund(project_id, body)
    return {"topic": topic, "ignored": "this topic is not used"}


def _ingest_one(project_id: str, event: dict) -> dict:
    result = events.ingest(project_id, {"events": [event]})
    if result["errors"]:
        error = result["errors"][0]["error"]
        path = error.get("path", "").removeprefix("/events/0")
        raise ServiceError(error["message"], path or "/", error["code"])
    return result


def _order(project_id: str, order: dict) -> dict:
    order_id = _order_id(order.get("id"), "/id")
    profile_id, attributes = _profile_of_order(order)
    properties = {"source": "shopify", "order_id": order_id}
    for name in ("currency", "name"):
        if isinstance(order.get(name), str):
            properties["order_name" if name == "name" else name] = order[name][:200]
    event = {
        "event_id": f"shopify-order-{order_id}",
        "profile_id": profile_id,
        "type": "purchase",
        "timestamp": order.get("processed_at") or order.get("created_at"),
        "value": _amount(order.get("total_price"), "/total_price"),
        "properties": properties,
    }
    source_keys.link(project_id, ORDER_LINK + order_id, profile_id)
    result = _ingest_one(project_id, event)
    _update_attributes(project_id, profile_id, attributes)
    return {
        "order_id": order_id,
        "profile_id": profile_id,
        "status": "duplicate" if result["duplicates"] else "accepted",
    }


def _update_attributes(project_id: str, profile_id: str, attributes: dict) -> None:
    if not attributes:
        return
    stored = profile_table.get(project_id, profile_id)
    before = stored.attributes if stored else {}
    if merge_attributes(before, attributes) != before:
        profiles.upsert(project_id, profile_id, {"attributes": attributes})


def refunded_amount(refund: dict) -> float:
    transactions = [
        t
        for t in refund.get("transactions") or []
        if isinstance(t, dict) and t.get("kind") == "refund" and t.get("status") == "success"
    ]
    if transactions:
        return round(
            sum(
                _amount(t.get("amount"), f"/transactions/{i}/amount")
                for i, t in enumerate(transactions)
            ),
            2,
        )
    items = [i for i in refund.get("refund_line_items") or [] if isinstance(i, dict)]
    return round(
        sum(
            _amount(item.get("subtotal", 0), f"/refund_line_items/{n}/subtotal")
            + _amount(item.get("total_tax", 0) or 0, f"/refund_line_items/{n}/total_tax")
            for n, item in enumerate(items)
        ),
        2,
    )


def _refund(project_id: str, refund: dict) -> dict:
    refund_id = _order_id(refund.get("id"), "/id")
    order_id = _order_id(refund.get("order_id"), "/order_id")
    linked = source_keys.links(project_id, [ORDER_LINK + order_id])
    if not linked:
        return {"refund_id": refund_id, "order_id": order_id, "ignored": "unknown order"}
    profile_id = linked[ORDER_LINK + order_id][0]
    amount = refunded_amount(refund)
    event = {
        "event_id": f"shopify-refund-{refund_id}",
        "profile_id": profile_id,
        "type": "refund",
        "timestamp": refund.get("processed_at") or refund.get("created_at"),
        "value": amount,
        "properties": {"source": "shopify", "order_id": order_id},
    }
    result = _ingest_one(project_id, event)
    return {
        "refund_id": refund_id,
        "order_id": order_id,
        "profile_id": profile_id,
        "amount": amount,
        "status": "duplicate" if result["duplicates"] else "accepted",
    }
