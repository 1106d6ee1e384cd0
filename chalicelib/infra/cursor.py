"""Opaque page cursors, signed and bound to their project and query: a forged, altered or foreign
cursor is refused (400), never read as another position or another tenant's data."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from .errors import ValidationError

MAX_CURSOR = 2048


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, scope: str, body: str) -> str:
    return _b64(hmac.new(secret.encode(), f"{scope}\n{body}".encode(), hashlib.sha256).digest())


def encode(position: list, scope: str, secret: str) -> str:
    body = _b64(json.dumps(position, separators=(",", ":")).encode())
    return f"{body}.{_mac(secret, scope, body)}"


def decode(cursor: str | None, scope: str, secret: str) -> list | None:
    """The position a cursor holds, None for no cursor; ValidationError if it is not ours."""
    if cursor is None:
        return None
    try:
        body, mac = cursor.split(".")
        if len(cursor) > MAX_CURSOR or not hmac.compare_digest(mac, _mac(secret, scope, body)):
            raise ValueError
        position = json.loads(_unb64(body))
        if not isinstance(position, list):
            raise ValueError
        return position
    except (ValueError, UnicodeError, TypeError):
        raise ValidationError(
            "cursor is invalid, or belongs to another query", "/cursor", "invalid_cursor"
        ) from None
