"""Evaluation of a parsed rule tree against profiles (plain dicts). Pure functions.

Semantics: each operator says what a profile that lacks the field, or holds a value of another
type than the field's, gets (operators.py): only `not_exists` matches a missing field and only
`exists` a value of another type. `all` needs every rule, `any` at least one, `none` no rule (so
an empty `all`/`none` group matches everyone, an empty `any` group no one).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

from . import event_conditions
from .event_conditions import EventCondition
from .stored import ABSENT, field_value, reader
from .tree import Condition, Rule, simplified

Profile = dict
Predicate = Callable[[Profile], bool]
_ABSENT = ABSENT  # the name older callers import


def _compile_condition(cond: Condition, now: datetime) -> Predicate:
    return cond.operator.predicate(cond.field.type, reader(cond.field.path), cond.value, now)


def _compile(node: Rule, now: datetime) -> Predicate:
    if isinstance(node, Condition):
        return _compile_condition(node, now)
    if isinstance(node, EventCondition):
        return event_conditions.predicate(node, now)
    children = [_compile(rule, now) for rule in node.rules]
    if node.match == "all":

        def every(profile: Profile) -> bool:
            for child in children:
                if not child(profile):
                    return False
            return True

        return every

    def some(profile: Profile) -> bool:
        for child in children:
            if child(profile):
                return True
        return False

    return some if node.match == "any" else lambda profile: not some(profile)


def compile_rules(node: Rule, now: datetime | None = None) -> Predicate:
    """Compile once, evaluate many times. `now` anchors relative date operators."""
    return _compile(simplified(node), now or datetime.now(timezone.utc))


__all__ = ["ABSENT", "compile_rules", "field_value"]
