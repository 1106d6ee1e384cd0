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

from ..infra.errors import ValidationError

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
    if any(ord(c) <= 32 or ord(c) == 127 for c in url):
        raise ValidationError("url must not hold spaces or control characters", "/url")
    try:  # urlsplit refuses an unclosed "[", .port a port that is not a number up to 65535
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValidationError(
            "url is malformed (its host or port cannot be read)", "/url"
        ) from None
    if parts.scheme not in (("https", "http") if allow_private else ("https",)):
        raise ValidationError("url must be https", "/url")
    if not parts.hostname or parts.username or parts.password:
        raise ValidationError("url must name a host, without credentials", "/url")
    if port == 0:
        raise ValidationError("url port must be from 1 to 65535", "/url")
    try:
        literal = ipaddress.ip_address(parts.hostname.split("%")[0])
    except ValueError:
        literal = None
    if allow_private:  # names are not resolved: only a literal address is checked
        addresses = [literal] if literal else []
    else:
        try:
            addresses = [
                ipaddress.ip_address(info[4][0].split("%")[0])
                for info in resolve(parts.hostname, port or 443)
            ]
        except (OSError, UnicodeError, ValueError):
            raise ValidationError(f"the host {parts.hostname!r} does not resolve", "/url") from None
    for ip in addresses:
        if not address_allowed(ip, allow_private):
            raise ValidationError("url must point to a public address", "/url")
    return url


# IPv6 prefixes that carry an IPv4 address in their last 32 bits: NAT64 (RFC 6052 well-known
# and RFC 8215 local-use) and IPv4-compatible (::a.b.c.d, deprecated but still routed by some)
_LAST_32_BITS = (
    ipaddress.ip_network("64:ff9b::/96"),
    ipaddress.ip_network("64:ff9b:1::/48"),
    ipaddress.ip_network("::/96"),
)


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address leads to (mapped, 6to4, Teredo, NAT64, compatible)."""
    found = [ip.ipv4_mapped, ip.sixtofour, *(ip.teredo or ())]
    if ip not in (ipaddress.ip_address("::"), ipaddress.ip_address("::1")) and any(
        ip in net for net in _LAST_32_BITS
    ):
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return [v4 for v4 in found if v4 is not None]


def address_allowed(ip, allow_private: bool = False) -> bool:
    """Whether a webhook may go to the address: never multicast, unspecified or reserved (nor to
    an IPv4 address wrapped in IPv6 that is); only a public one unless `allow_private`."""
    if ip.version == 6:
        inner = embedded_ipv4(ip)
        if inner:  # the wrapping prefix itself is flagged reserved: judge what it leads to
            return all(address_allowed(v4, allow_private) for v4 in inner)
    if ip.is_multicast or ip.is_unspecified:
        return False
    if ip.is_loopback:  # (::1 lies in the reserved ::/8)
        return allow_private
    return not ip.is_reserved and (allow_private or (ip.is_global and not ip.is_link_local))


def delivery_id(segment_id: str, destination_id: str, changes: list[dict]) -> str:
    digest = hashlib.sha256(
        json.dumps([segment_id, destination_id, changes], sort_keys=True).encode()
    ).hexdigest()
    return "dlv_" + digest[:32]


def payload(project_id: str, segment_id: str, delivery: str, changes: list[dict]) -> bytes:
    return json.dumps(
        {
            "delivery_id": delivery,
            "project_id": project_id,
            "segment_id": segment_id,
            "changes": changes,
        },
        separators=(",", ":"),
    ).encode()


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify(
    secret: str, body: bytes, header: str, tolerance: int = 300, now: int | None = None
) -> bool:
    """What a receiver does (and the tests): check the signature and its age."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        t = int(fields["t"])
    except (ValueError, KeyError):
        return False
    if abs((now or int(time.time())) - t) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, body, t), header)
