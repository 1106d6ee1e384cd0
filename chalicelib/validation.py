"""Input checks shared by the routes: JSON bodies, ids, attribute values. No I/O; the clock is
read only by `now_iso` and where a timestamp is checked against today (an injectable `now`)."""

from __future__ import annotations

import json
import math
import re
from datetime import datetime, timedelta, timezone
from typing import Any

from .infra.errors import PayloadTooLarge, ValidationError
from .rules.operators import parse_datetime

MAX_BODY_BYTES = 1_000_000
MAX_ATTRIBUTES = 100
MAX_TEXT = 1000
MAX_LIST = 100
MAX_DEPTH = 32  # DynamoDB's own limit on nested attributes
MAX_FLOAT = 1.7976931348623157e308  # sys.float_info.max
MAX_ABS_NUMBER = 1e15  # well inside DynamoDB's 38 digits, and exact as a float up to 2**53
# \Z, not $: "$" also matches before a final newline
ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:@+\-]{0,127}\Z")
PROJECT_RE = re.compile(r"[a-z0-9][a-z0-9\-]{1,62}\Z")
ATTRIBUTE_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}\Z")


def _no_constants(name: str):
    raise ValueError(f"{name} is not valid JSON")


def parse_json_body(raw: bytes | None) -> Any:
    """Strict JSON: no NaN/Infinity (nor numbers that overflow to it, at any depth), bounded
    size and nesting, UTF-8."""
    if raw is None or raw == b"":
        raise ValidationError("request body is required", "/", "missing_body")
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"body is larger than {MAX_BODY_BYTES} bytes")
    try:
        body = json.loads(raw, parse_constant=_no_constants)
    except (ValueError, RecursionError) as exc:
        raise ValidationError(f"malformed JSON: {str(exc)[:200]}", "/", "malformed_json") from None
    check_json_tree(body)
    try:  # lone surrogates (\ud800) parse, but are not text and cannot be stored
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(
            "strings must be valid Unicode (no lone surrogates)", "/", "invalid_unicode"
        ) from None
    return body


def _pointer_token(key) -> str:
    return str(key)[:64].replace("~", "~0").replace("/", "~1")


def check_json_tree(body: Any) -> None:
    """Every number finite as a float (1e400 parses to inf, a 400-digit integer overflows on the
    first float() of it), and at most MAX_DEPTH levels of nesting (code that walks a document
    recursively stays far from Python's recursion limit). The error names the JSON pointer."""
    pending = [(body, "", 0)]
    while pending:
        value, pointer, depth = pending.pop()
        if isinstance(value, (dict, list)):
            if depth >= MAX_DEPTH:
                raise ValidationError(f"JSON nests at most {MAX_DEPTH} levels", pointer, "too_deep")
            items = value.items() if isinstance(value, dict) else enumerate(value)
            pending.extend(
                (item, f"{pointer}/{_pointer_token(key)}", depth + 1)
                for key, item in items
                if isinstance(item, (dict, list, float, int))
            )
        elif (
            isinstance(value, float)
            and not math.isfinite(value)
            or isinstance(value, int)
            and abs(value) > MAX_FLOAT
        ):
            raise ValidationError(
                "numbers must be finite (this one overflows a float)",
                pointer or "/",
                "invalid_number",
            )


def expect_object(
    value: Any, path: str, allowed: set[str], required: set[str] = frozenset()
) -> dict:
    if not isinstance(value, dict):
        raise ValidationError("expected an object", path or "/", "invalid_type")
    for key in sorted(value):
        if key not in allowed:
            raise ValidationError(f"unknown key {key[:64]!r}", f"{path}/{key[:64]}", "unknown_key")
    for key in sorted(required):
        if key not in value:
            raise ValidationError(f"{key} is required", f"{path}/{key}", "missing")
    return value


def check_id(value: Any, path: str, what: str = "id") -> str:
    if not isinstance(value, str) or not ID_RE.match(value):
        raise ValidationError(
            f"{what} must be 1-128 characters: letters, digits and _ . : @ + - "
            "(starting with a letter or digit)",
            path,
            "invalid_id",
        )
    return value


def check_project_id(value: Any, path: str = "/project_id") -> str:
    if not isinstance(value, str) or not PROJECT_RE.match(value):
        raise ValidationError(
            "project id must be 2-63 characters: lower-case letters, digits and -",
            path,
            "invalid_id",
        )
    return value


def check_number(
    value: Any, path: str, minimum: float = -MAX_ABS_NUMBER, maximum: float = MAX_ABS_NUMBER
) -> float | int:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or (isinstance(value, float) and not math.isfinite(value))
    ):
        raise ValidationError("expected a finite number", path, "invalid_type")
    if not minimum <= value <= maximum:
        raise ValidationError(
            f"expected a number from {minimum:g} to {maximum:g}", path, "out_of_range"
        )
    return value


def check_text(value: Any, path: str, max_len: int = MAX_TEXT) -> str:
    if not isinstance(value, str):
        raise ValidationError("expected a string", path, "invalid_type")
    if len(value) > max_len:
        raise ValidationError(f"at most {max_len} characters", path, "too_long")
    if any(ord(c) < 32 and c not in "\t\n\r" for c in value) or "\x00" in value:
        raise ValidationError("control characters are not allowed", path, "invalid_value")
    return value


def check_attribute_value(value: Any, path: str) -> Any:
    """string, number, boolean, list of strings, or null (null removes the attribute)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return check_number(value, path)
    if isinstance(value, str):
        return check_text(value, path)
    if isinstance(value, list):
        if len(value) > MAX_LIST:
            raise ValidationError(f"a list holds at most {MAX_LIST} strings", path, "too_long")
        return [check_text(v, f"{path}/{i}", 200) for i, v in enumerate(value)]
    raise ValidationError(
        "attribute values are strings, numbers, booleans, lists of strings or null",
        path,
        "invalid_type",
    )


def check_attributes(value: Any, path: str) -> dict:
    if not isinstance(value, dict):
        raise ValidationError("attributes must be an object", path, "invalid_type")
    if len(value) > MAX_ATTRIBUTES:
        raise ValidationError(f"at most {MAX_ATTRIBUTES} attributes", path, "too_many")
    out = {}
    for name, attr in value.items():
        if not ATTRIBUTE_RE.match(name):
            raise ValidationError(
                "attribute names are 1-64 letters, digits and _, starting with a letter",
                f"{path}/{name[:64]}",
                "invalid_name",
            )
        out[name] = check_attribute_value(attr, f"{path}/{name}")
    return out


def attribute_kind(value: Any) -> str:
    """The kind the field catalogue types attributes by."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, list):
        return "list"
    if isinstance(value, str) and parse_datetime(value) is not None:
        return "date"
    return "string"


def check_timestamp(value: Any, path: str, now: datetime | None = None) -> datetime:
    """ISO-8601, not before 1990, not more than a day ahead of the server clock."""
    parsed = parse_datetime(value) if isinstance(value, str) else None
    if parsed is None:
        raise ValidationError("expected an ISO-8601 date-time", path, "invalid_timestamp")
    now = now or datetime.now(timezone.utc)
    if parsed.year < 1990 or parsed > now + timedelta(days=1):
        raise ValidationError("timestamp must lie between 1990 and tomorrow", path, "out_of_range")
    return parsed


def iso(ts: datetime) -> str:
    return ts.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_iso() -> str:
    return iso(datetime.now(timezone.utc))


def check_limit(raw: str | None, default: int = 50, maximum: int = 1000) -> int:
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= maximum:
        raise ValidationError(
            f"limit must be a whole number from 1 to {maximum}", "/limit", "invalid_value"
        )
    return int(raw)
