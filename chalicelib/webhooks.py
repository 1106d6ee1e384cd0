"""Webhook destinations: URL checks, payloads and signatures. Pure (no network, no storage).

A delivery is a POST of JSON `{"delivery_id", "project_id", "segment_id", "changes": [{"profile_id",
"change": "entered"|"exited", "at"}]}` with the header
`X-Segments-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the secret>`,
so a receiver checks who sent it and refuses replays of old deliveries (compare t with its
clock). `delivery_id` is the same on every retry of one delivery: receivers deduplicate by it.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import socket
import time
from urllib.parse import urlsplit

from .errors import ValidationError

MAX_URL = 2048
MAX_DESTINATIONS = 5
CHANGES_PER_DELIVERY = 100
SIGNATURE_HEADER = "X-Segments-Signature"


def check_url(url, allow_private: bool = False, resolve=socket.getaddrinfo) -> str:
    """An https URL of a public host (no credentials in it). `allow_private` (local runs and
    tests) also admits http and loopback/private addresses. Hosts are resolved here and checked
    again at delivery, so a name cannot point inside the network (SSRF)."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL:
        raise ValidationError(f"url must be a string of 1 to {MAX_URL} characters", "/url")
    parts = urlsplit(url)
    if parts.scheme not in (("https", "http") if allow_private else ("https",)):
        raise ValidationError("url must be https", "/url")
    if not parts.hostname or parts.username or parts.password:
        raise ValidationError("url must name a host, without credentials", "/url")
    if not allow_private:
        try:
            addresses = {info[4][0] for info in resolve(parts.hostname, parts.port or 443)}
        except (OSError, UnicodeError):
            raise ValidationError(f"the host {parts.hostname!r} does not resolve", "/url") from None
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%")[0])
            if not ip.is_global:
                raise ValidationError("url must point to a public address", "/url")
    return url


def delivery_id(segment_id: str, destination_id: str, changes: list[dict]) -> str:
    digest = hashlib.sha256(json.dumps([segment_id, destination_id, changes],
                                       sort_keys=True).encode()).hexdigest()
    return "dlv_" + digest[:32]


def payload(project_id: str, segment_id: str, delivery: str, changes: list[dict]) -> bytes:
    return json.dumps({"delivery_id": delivery, "project_id": project_id,
                       "segment_id": segment_id, "changes": changes},
                      separators=(",", ":")).encode()


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify(secret: str, body: bytes, header: str, tolerance: int = 300,
           now: int | None = None) -> bool:
    """What a receiver does (and the tests): check the signature and its age."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        t = int(fields["t"])
    except (ValueError, KeyError):
        return False
    if abs((now or int(time.time())) - t) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, body, t), header)
