"""Evaluation of a parsed rule tree against profiles (plain dicts). Pure functions.

Semantics: a profile that lacks a field matches only `not_exists`; a stored value of another type
than the field's matches no operator but `exists`. `all` needs every rule, `any` at least one,
`none` no rule (so an empty `all`/`none` group matches everyone, an empty `any` group no one).
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable

from .operators import MISMATCH, coerce_stored
from .rules import Condition, Group

Profile = dict
Predicate = Callable[[Profile], bool]
_ABSENT = object()
ABSENT = _ABSENT  # what field_value gives for a field the profile does not hold


def field_value(profile: Profile, path: str) -> Any:
    """The stored value at a dotted path, or _ABSENT. A stored null counts as absent."""
    node: Any = profile
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return _ABSENT
        node = node[part]
    return _ABSENT if node is None else node


def _compile_condition(cond: Condition, now: datetime) -> Predicate:
    path, field_type, test, value = cond.field.path, cond.field.type, cond.operator.test, cond.value
    if cond.operator.name == "exists":
        return lambda p: field_value(p, path) is not _ABSENT
    if cond.operator.name == "not_exists":
        return lambda p: field_value(p, path) is _ABSENT

    def predicate(profile: Profile) -> bool:
        raw = field_value(profile, path)
        if raw is _ABSENT:
            return False
        stored = coerce_stored(field_type, raw)
        if stored is MISMATCH:
            return False
        try:
            return bool(test(stored, value, now))
        except TypeError:  # e.g. a list attribute holding a non-string element
            return False

    return predicate


def compile_rules(node: Group | Condition, now: datetime | None = None) -> Predicate:
    """Compile once, evaluate many times. `now` anchors relative date operators."""
    now = now or datetime.now(timezone.utc)
    if isinstance(node, Condition):
        return _compile_condition(node, now)
    children = [compile_rules(rule, now) for rule in node.rules]
    if node.match == "all":
        return lambda p: all(c(p) for c in children)
    if node.match == "any":
        return lambda p: any(c(p) for c in children)
    return lambda p: not any(c(p) for c in children)
