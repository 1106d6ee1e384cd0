"""Evaluation of a parsed rule tree against profiles (plain dicts). Pure functions.

Semantics: each operator says what a profile that lacks the field, or holds a value of another
type than the field's, gets (operators.py): only `not_exists` matches a missing field and only
`exists` a value of another type. `all` needs every rule, `any` at least one, `none` no rule (so
an empty `all`/`none` group matches everyone, an empty `any` group no one).
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

from .rules import Condition, Group
from .stored import ABSENT, field_value

Profile = dict
Predicate = Callable[[Profile], bool]
_ABSENT = ABSENT  # the name older callers import


def _compile_condition(cond: Condition, now: datetime) -> Predicate:
    path, field_type, value, matches = (cond.field.path, cond.field.type, cond.value,
                                        cond.operator.matches)
    return lambda profile: matches(field_type, field_value(profile, path), value, now)


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


__all__ = ["ABSENT", "compile_rules", "field_value"]
