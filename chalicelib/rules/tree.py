"""Segment rules: parsed once into a typed tree and checked against the field catalogue.

Every error names the offending place as a JSON pointer into the segment body, e.g.
`/rules/1/rules/0/value`.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from typing import Any, Union

from ..infra.errors import ValidationError
from .day_window import DayWindow
from .event_conditions import EventCondition, event_language, parse_event_condition
from .event_keys import EventSettings
from .fields import Catalogue, Field
from .operators import MAX_DAYS, MAX_IN_VALUES, MAX_TEXT, OPERATORS, Operator

MATCHES = {"all": "all the rules", "any": "one or more rules", "none": "none of the rules"}
MAX_DEPTH = 5  # groups, the segment itself counting as the first
MAX_CONDITIONS = 50
MAX_NODES = 200  # groups (the segment itself included) and conditions
MAX_NAME = 200
MAX_DESCRIPTION = 2000
# The segment as compact JSON in UTF-8. DynamoDB's item limit is 400 KB; the stored JSON escapes
# non-ASCII (at most 3x these bytes), so a segment fits with room for its other attributes.
MAX_DEFINITION_BYTES = 65536

LIMITS = {
    "max_depth": MAX_DEPTH,
    "max_conditions": MAX_CONDITIONS,
    "max_nodes": MAX_NODES,
    "max_in_values": MAX_IN_VALUES,
    "max_text": MAX_TEXT,
    "max_days": MAX_DAYS,
    "max_name": MAX_NAME,
    "max_description": MAX_DESCRIPTION,
    "max_definition_bytes": MAX_DEFINITION_BYTES,
}


def rule_language(catalogue: Catalogue | None = None) -> dict:
    """What a rule may say, for clients building rules: operators (registry order), matches,
    limits, and the event conditions of the project (its time zone and declared properties)."""
    return {
        "operators": [op.to_dict() for op in OPERATORS.values()],
        "matches": [{"name": name, "label": label} for name, label in MATCHES.items()],
        "limits": dict(LIMITS),
        "events": event_language(catalogue.settings if catalogue else EventSettings()),
    }


@dataclass(frozen=True)
class Condition:
    field: Field
    operator: Operator
    value: Any  # normalised by the operator's value check (datetimes, frozensets, ...)
    raw_value: Any  # as the client sent it, for storing and echoing back

    def to_dict(self) -> dict:
        out = {"field": self.field.path, "operator": self.operator.name}
        if self.raw_value is not None:
            out["value"] = self.raw_value
        return out


@dataclass(frozen=True)
class Group:
    match: str
    rules: tuple[Union["Group", Condition, EventCondition], ...]

    def to_dict(self) -> dict:
        return {"match": self.match, "rules": [r.to_dict() for r in self.rules]}


@dataclass(frozen=True)
class SegmentDefinition:
    name: str
    description: str
    root: Group

    def to_dict(self) -> dict:
        out = {"name": self.name, **self.root.to_dict()}
        if self.description:
            out["description"] = self.description
        return out


Rule = Union[Group, Condition, EventCondition]


def simplified(node: Rule) -> Rule:
    """An equivalent tree for evaluation: empty groups are constants (an empty `all` or `none`
    group is true, an empty `any` group false) and fold into their parents; an `all`/`any` group
    of one rule is that rule; `none` of one `any` group is `none` of its rules, `none` of one
    `none` group is `any` of its rules. Both evaluators run it, so groups a segment may have cost
    parsing, not evaluation."""
    if not isinstance(node, Group):
        return node
    neutral = node.match == "all"  # a constant child of this value changes nothing
    rules = []
    for child in map(simplified, node.rules):
        if not (isinstance(child, Group) and not child.rules):
            rules.append(child)
        elif (child.match != "any") != neutral:  # a deciding constant
            return Group("all" if node.match == "any" else "any", ())
    if len(rules) == 1 and node.match != "none":
        return rules[0]
    if len(rules) == 1 and isinstance(rules[0], Group) and rules[0].match in ("any", "none"):
        # none(any(R)) is none(R); none(none(R)) is any(R)
        return simplified(Group("none" if rules[0].match == "any" else "any", rules[0].rules))
    return Group(node.match, tuple(rules))


def _expect_object(node: Any, path: str, allowed: set[str]) -> dict:
    if not isinstance(node, dict):
        raise ValidationError("expected an object", path or "/", "invalid_type")
    unknown = sorted(set(node) - allowed)
    if unknown:
        raise ValidationError(f"unknown key {unknown[0]!r}", f"{path}/{unknown[0]}", "unknown_key")
    return node


class _Parser:
    def __init__(self, catalogue: Catalogue):
        self.catalogue = catalogue
        self.conditions = 0
        self.nodes = 0

    def count_node(self, path: str) -> None:
        """Bounds the whole tree: empty groups cost time and storage too."""
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise ValidationError(
                f"a segment has at most {MAX_NODES} groups and conditions "
                "(the segment counting as one)",
                path,
                "too_many_nodes",
            )

    def group(
        self, node: dict, path: str, depth: int, extra_keys: frozenset = frozenset()
    ) -> Group:
        self.count_node(path or "/")
        if depth > MAX_DEPTH:
            raise ValidationError(f"groups nest at most {MAX_DEPTH} deep", path, "too_deep")
        _expect_object(node, path, {"match", "rules"} | extra_keys)
        match = node.get("match", "all")
        if not isinstance(match, str) or match not in MATCHES:
            raise ValidationError(
                f"match must be one of {list(MATCHES)}", f"{path}/match", "invalid_value"
            )
        rules = node.get("rules")
        if not isinstance(rules, list):
            raise ValidationError("rules must be a list", f"{path}/rules", "invalid_type")
        parsed = []
        for i, rule in enumerate(rules):
            rule_path = f"{path}/rules/{i}"
            if isinstance(rule, dict) and "rules" in rule:
                parsed.append(self.group(rule, rule_path, depth + 1))
            elif isinstance(rule, dict) and "event" in rule:
                parsed.append(self.event_condition(rule, rule_path))
            else:
                parsed.append(self.condition(rule, rule_path))
        return Group(match, tuple(parsed))

    def count_condition(self, path: str) -> None:
        self.count_node(path)
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            raise ValidationError(
                f"a segment has at most {MAX_CONDITIONS} conditions", path, "too_many_conditions"
            )

    def event_condition(self, node: dict, path: str) -> EventCondition:
        """A rule on what the profile did (event_conditions.py); counts as a condition."""
        self.count_condition(path)
        return parse_event_condition(node, path, self.catalogue.settings)

    def condition(self, node: Any, path: str) -> Condition:
        _expect_object(node, path, {"field", "operator", "value"})
        self.count_condition(path)
        field_path = node.get("field")
        if not isinstance(field_path, str):
            raise ValidationError("field must be a string", f"{path}/field", "invalid_type")
        field = self.catalogue.get(field_path)
        if field is None:
            raise ValidationError(
                f"unknown field {field_path[:100]!r}", f"{path}/field", "unknown_field"
            )
        op_name = node.get("operator")
        operator = OPERATORS.get(op_name) if isinstance(op_name, str) else None
        if operator is None:
            raise ValidationError(
                f"unknown operator {str(op_name)[:50]!r}", f"{path}/operator", "unknown_operator"
            )
        if field.type not in operator.types:
            raise ValidationError(
                f"operator {op_name!r} does not apply to {field.type} field {field.path!r}; "
                f"allowed: {list(field.operators)}",
                f"{path}/operator",
                "operator_not_allowed",
            )
        raw_value = node.get("value")
        value = operator.check_value(field.type, field.values, raw_value, f"{path}/value")
        if isinstance(value, DayWindow):  # whole days in the project's time zone
            value = value.in_zone(self.catalogue.settings.time_zone)
        return Condition(field, operator, value, raw_value)


def _check_text(value: Any, path: str, what: str, maximum: int, allowed: str = "") -> str:
    """A string of at most `maximum` characters with no control character but `allowed`."""
    if not isinstance(value, str) or len(value) > maximum:
        raise ValidationError(
            f"{what} must be a string of at most {maximum} characters", path, "invalid_value"
        )
    if any(unicodedata.category(c) == "Cc" and c not in allowed for c in value):
        raise ValidationError(f"{what} must not hold control characters", path, "invalid_value")
    return value


def _check_size(tree: dict) -> None:
    size = len(json.dumps(tree, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    if size > MAX_DEFINITION_BYTES:
        raise ValidationError(
            f"the segment takes {size} bytes as JSON; at most {MAX_DEFINITION_BYTES}",
            "/rules",
            "definition_too_large",
        )


def parse_segment(body: Any, catalogue: Catalogue) -> SegmentDefinition:
    """Parse and validate a segment body ({name, description?, match, rules})."""
    if not isinstance(body, dict):
        raise ValidationError("expected a JSON object", "/", "invalid_type")
    name = _check_text(body.get("name"), "/name", "name", MAX_NAME)
    if not name.strip():
        raise ValidationError("name must not be blank", "/name", "invalid_value")
    description = _check_text(
        body.get("description", ""),
        "/description",
        "description",
        MAX_DESCRIPTION,
        allowed="\t\n\r",
    )
    root = _Parser(catalogue).group(body, "", 1, frozenset({"name", "description"}))
    definition = SegmentDefinition(name.strip(), description, root)
    _check_size(definition.to_dict())
    return definition


def parse_rules(body: Any, catalogue: Catalogue) -> Group:
    """Parse a bare rule group ({match, rules}), as a preview takes it: within the limits of a
    segment, so what previews can be saved."""
    if not isinstance(body, dict):
        raise ValidationError("expected a JSON object", "/", "invalid_type")
    root = _Parser(catalogue).group(body, "", 1, frozenset({"name", "description"}))
    _check_size(root.to_dict())
    return root
