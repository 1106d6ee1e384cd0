"""Segment exports, the pure part: query options, rows of member documents, the ad platforms'
customer-match normalisation and hashing, and the CSV and JSON Lines writers. No boto3, no
PynamoDB.

Customer match follows Google Ads' Customer Match upload template for hashed data (CSV headers
`Email` and `Phone`, values SHA-256 hex digests of the normalised identifiers):
- email: leading and trailing whitespace removed, lower-cased; for gmail.com and googlemail.com
  addresses every `.` of the local part removed (Google's rule; Meta does not remove dots).
  Something that is not `local@domain` after that counts as no email.
- phone: E.164, `+` and the country code then the subscriber number, 8 to 15 digits in all.
  The number must carry its country code (`+31 6 1234 5678`, `0031 6 12345678`); spaces,
  dashes, dots, slashes, parentheses and a trunk `(0)` after the country code are dropped.
  A national number without a country code is not guessed from the profile's country: it
  counts as no phone (an empty `Phone` cell). Meta hashes the same digits without the `+`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
from decimal import Decimal
from typing import Any, Callable, Iterable

from ..infra.errors import ValidationError
from ..predict import fields as predictive_fields

FORMATS = {"csv": ("text/csv; charset=utf-8", "csv"), "jsonl": ("application/x-ndjson", "jsonl")}
DEFAULT_FIELDS = ("attributes.email", "attributes.phone", "attributes.country") + tuple(
    f.path for f in predictive_fields.FIELDS if f.export_default
)
MAX_FIELDS = 100
EMAIL_ATTRIBUTE, PHONE_ATTRIBUTE = "email", "phone"
CUSTOMER_MATCH_COLUMNS = ("Email", "Phone")
GMAIL_DOMAINS = ("gmail.com", "googlemail.com")
# A spreadsheet evaluates a cell that starts with one of these as a formula (OWASP CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def parse_format(raw: str | None) -> str:
    if raw is None:
        return "csv"
    if raw not in FORMATS:
        raise ValidationError("format must be csv or jsonl", "/format", "invalid_value")
    return raw


def parse_flag(raw: str | None, path: str) -> bool:
    if raw is None:
        return False
    if raw not in ("true", "false"):
        raise ValidationError(f"{path[1:]} must be true or false", path, "invalid_value")
    return raw == "true"


def parse_fields(raw: str | None, known: Callable[[str], bool]) -> tuple[str, ...]:
    """The columns after profile_id: comma-separated field paths of the catalogue, in the order
    given, without repeats (profile_id, always the first column, may be named too)."""
    if raw is None:
        return DEFAULT_FIELDS
    paths = [p.strip() for p in raw.split(",")]
    if not any(paths) or "" in paths:
        raise ValidationError(
            "fields is a comma-separated list of field paths", "/fields", "invalid_value"
        )
    if len(paths) > MAX_FIELDS:
        raise ValidationError(f"at most {MAX_FIELDS} fields", "/fields", "too_many")
    for path in paths:
        if path != "profile_id" and not known(path):
            raise ValidationError(
                f"unknown field {path[:100]!r} (see GET /fields)", "/fields", "unknown_field"
            )
    return tuple(dict.fromkeys(p for p in paths if p != "profile_id"))


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        value = (
            int(value) if value.is_finite() and value == value.to_integral_value() else float(value)
        )
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def field_value(document: dict, path: str) -> Any:
    group, _, name = path.partition(".")
    return _plain((document.get(group) or {}).get(name))


def member_row(document: dict, fields: Iterable[str]) -> dict:
    row = {"profile_id": document["profile_id"]}
    for path in fields:
        row[path] = field_value(document, path)
    return row


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def plain_email(raw: Any) -> str | None:
    """Trimmed and lower-cased, or None when it is not one address (Meta's normalisation)."""
    if not isinstance(raw, str):
        return None
    email = raw.strip().lower()
    local, at, domain = email.rpartition("@")
    if not at or not local or not domain or "@" in local or any(c.isspace() for c in email):
        return None
    return email


def normalise_email(raw: Any) -> str | None:
    """Google's Customer Match normalisation: plain_email, and gmail's dots dropped."""
    email = plain_email(raw)
    if email is None:
        return None
    local, _, domain = email.rpartition("@")
    if domain in GMAIL_DOMAINS:
        local = local.replace(".", "")
        if not local:
            return None
    return f"{local}@{domain}"


_PHONE_SEPARATORS = re.compile(r"[\s\-./()]")


def normalise_phone(raw: Any) -> str | None:
    """E.164 (`+` and 8-15 digits, the first not 0) of a number written with its country code,
    else None."""
    if isinstance(raw, bool) or not isinstance(raw, str):
        return None
    text = raw.strip()
    if text.startswith("+"):
        rest = text[1:]
    elif text.startswith("00"):
        rest = text[2:]
    else:
        return None  # no country code: E.164 needs one, and we do not guess it
    rest = re.sub(r"\(0\)", "", rest)  # "+31 (0)6 ...": the trunk prefix is not dialled abroad
    digits = _PHONE_SEPARATORS.sub("", rest)
    if (
        not digits.isascii()
        or not digits.isdigit()
        or not 8 <= len(digits) <= 15
        or digits[0] == "0"
    ):
        return None
    return "+" + digits


def _first_text(value: Any) -> Any:
    if isinstance(value, list):
        return next((v for v in value if isinstance(v, str)), None)
    return value


def customer_match_row(document: dict) -> dict | None:
    """The member's hashed Email and Phone, or None when it has neither (skipped)."""
    attributes = document.get("attributes") or {}
    email = normalise_email(_first_text(attributes.get(EMAIL_ATTRIBUTE)))
    phone = normalise_phone(_first_text(attributes.get(PHONE_ATTRIBUTE)))
    if email is None and phone is None:
        return None
    return {
        "Email": sha256_hex(email) if email else "",
        "Phone": sha256_hex(phone) if phone else "",
    }


def csv_cell(value: Any) -> str:
    """A value as CSV text: empty for none, JSON for lists, and text that a spreadsheet would
    run as a formula prefixed with an apostrophe (numbers are numbers, never formulas)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, dict)):
        value = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def write_csv(columns: Iterable[str], rows: Iterable[dict]) -> bytes:
    """RFC 4180: a header row, CRLF line ends, fields quoted where they need it, UTF-8."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    columns = list(columns)
    writer.writerow([csv_cell(c) for c in columns])
    for row in rows:
        writer.writerow([csv_cell(row.get(c)) for c in columns])
    return out.getvalue().encode("utf-8")


def write_jsonl(rows: Iterable[dict]) -> bytes:
    return "".join(
        json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n" for row in rows
    ).encode("utf-8")


def encode(fmt: str, columns: Iterable[str], rows: list[dict]) -> bytes:
    return write_csv(columns, rows) if fmt == "csv" else write_jsonl(rows)


def filename(segment_id: str, fmt: str, customer_match: bool) -> str:
    stem = re.sub(r"[^A-Za-z0-9_.\-]", "_", segment_id)
    return f"{stem}{'-customer-match' if customer_match else ''}.{FORMATS[fmt][1]}"
