"""Who a member is to an ad platform: its email and phone, normalised by each platform's rules
and hashed with SHA-256 (hex). Pure.

- Meta (Custom Audiences, customer list): email trimmed and lower-cased; phone as digits only,
  country code first, no `+` and no leading zeros ("+1 (616) 954-1234" -> "16169541234").
- Google Ads (Customer Match): email trimmed, lower-cased, and for gmail.com/googlemail.com
  without dots in the local part; phone in E.164 ("+16169541234"). The same rules as the
  Customer Match file export (services/export_format.py), whose normalisers are reused.

A phone written without its country code is not guessed: it counts as no phone. A member with
neither an email nor a phone is not sent (the platforms could not match it)."""

from __future__ import annotations

from typing import Any

from ..export_format import (
    EMAIL_ATTRIBUTE,
    PHONE_ATTRIBUTE,
    normalise_email,
    normalise_phone,
    plain_email,
    sha256_hex,
)


def _first_text(value: Any) -> Any:
    if isinstance(value, list):
        return next((v for v in value if isinstance(v, str)), None)
    return value


def _raw(document: dict, name: str) -> Any:
    return _first_text((document.get("attributes") or {}).get(name))


def meta_email(raw: Any) -> str | None:
    return plain_email(raw)  # Meta keeps gmail's dots, unlike Google


def meta_phone(raw: Any) -> str | None:
    e164 = normalise_phone(raw)
    return e164[1:] if e164 else None


def meta_keys(document: dict) -> list[str] | None:
    """The member's row for the schema ["EMAIL", "PHONE"]: hashes, "" where unknown."""
    email, phone = (
        meta_email(_raw(document, EMAIL_ATTRIBUTE)),
        meta_phone(_raw(document, PHONE_ATTRIBUTE)),
    )
    if email is None and phone is None:
        return None
    return [sha256_hex(email) if email else "", sha256_hex(phone) if phone else ""]


def google_keys(document: dict) -> dict[str, str] | None:
    """The member's Customer Match identifiers: {"hashedEmail", "hashedPhoneNumber"} (those
    known), or None."""
    email = normalise_email(_raw(document, EMAIL_ATTRIBUTE))
    phone = normalise_phone(_raw(document, PHONE_ATTRIBUTE))
    keys = {}
    if email:
        keys["hashedEmail"] = sha256_hex(email)
    if phone:
        keys["hashedPhoneNumber"] = sha256_hex(phone)
    return keys or None
