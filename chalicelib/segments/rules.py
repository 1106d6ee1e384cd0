"""Segment rules: parsed once into a typed tree and checked against the field catalogue.

Every error names the offending place as a JSON pointer into the segment body, e.g.
`/rules/1/rules/0/value`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

from ..errors import ValidationError
from .fields import Catalogue, Field
from .operators import MAX_DAYS, MAX_IN_VALUES, MAX_TEXT, OPERATORS, Operator

MATCHES = {"all": "all the rules", "any": "one or more rules", "none": "none of the rules"}
MAX_DEPTH = 5  # groups, the segment itself counting as the first
MAX_CONDITIONS = 50
MAX_NODES = 200  # groups (the segment itself included) and conditions
MAX_NAME = 200
MAX_DESCRIPTION = 2000
# The segment as stored (canonical JSON, UTF-8): far below DynamoDB's 400 KB item.
MAX_DEFINITION_BYTES = 65536

LIMITS = {"max_depth": MAX_DEPTH, "max_conditions": MAX_CONDITIONS, "max_nodes": MAX_NODES,
          "max_in_values": MAX_IN_VALUES, "max_text": MAX_TEXT, "max_days": MAX_DAYS,
          "max_name": MAX_NAME, "max_description": MAX_DESCRIPTION,
          "max_definition_bytes": MAX_DEFINITION_BYTES}


def rule_language() -> dict:
    """What a rule may say, for clients building rules: operators (registry order), matches and
    limits."""
    return {"operators": [op.to_dict() for op in OPERATORS.values()],
            "matches": [{"name": name, "label": label} for name, label in MATCHES.items()],
            "limits": dict(LIMITS)}


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
    rules: tuple[Union["Group", Condition], ...]

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

    def group(self, node: dict, path: str, depth: int, extra_keys: frozenset = frozenset()) -> Group:
        if depth > MAX_DEPTH:
            raise ValidationError(f"groups nest at most {MAX_DEPTH} deep", path, "too_deep")
        _expect_object(node, path, {"match", "rules"} | extra_keys)
        match = node.get("match", "all")
        if match not in MATCHES:
            raise ValidationError(f"match must be one of {list(MATCHES)}", f"{path}/match",
                                  "invalid_value")
        rules = node.get("rules")
        if not isinstance(rules, list):
            raise ValidationError("rules must be a list", f"{path}/rules", "invalid_type")
        parsed = []
        for i, rule in enumerate(rules):
            rule_path = f"{path}/rules/{i}"
            if isinstance(rule, dict) and "rules" in rule:
                parsed.append(self.group(rule, rule_path, depth + 1))
            else:
                parsed.append(self.condition(rule, rule_path))
        return Group(match, tuple(parsed))

    def condition(self, node: Any, path: str) -> Condition:
        _expect_object(node, path, {"field", "operator", "value"})
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            raise ValidationError(f"a segment has at most {MAX_CONDITIONS} conditions", path,
                                  "too_many_conditions")
        field_path = node.get("field")
        if not isinstance(field_path, str):
            raise ValidationError("field must be a string", f"{path}/field", "invalid_type")
        field = self.catalogue.get(field_path)
        if field is None:
            raise ValidationError(f"unknown field {field_path[:100]!r}", f"{path}/field",
                                  "unknown_field")
        op_name = node.get("operator")
        operator = OPERATORS.get(op_name) if isinstance(op_name, str) else None
        if operator is None:
            raise ValidationError(f"unknown operator {str(op_name)[:50]!r}", f"{path}/operator",
                                  "unknown_operator")
        if field.type not in operator.types:
            raise ValidationError(
                f"operator {op_name!r} does not apply to {field.type} field {field.path!r}; "
                f"allowed: {list(field.operators)}", f"{path}/operator", "operator_not_allowed")
        raw_value = node.get("value")
        value = operator.check_value(field.type, field.values, raw_value, f"{path}/value")
        return Condition(field, operator, value, raw_value)


def parse_segment(body: Any, catalogue: Catalogue) -> SegmentDefinition:
    """Parse and validate a segment body ({name, description?, match, rules})."""
    if not isinstance(body, dict):
        raise ValidationError("expected a JSON object", "/", "invalid_type")
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        raise ValidationError(f"name must be a non-empty string of at most {MAX_NAME} characters",
                              "/name", "invalid_value")
    description = body.get("description", "")
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
        raise ValidationError(f"description must be a string of at most {MAX_DESCRIPTION} "
                              "characters", "/description", "invalid_value")
    root = _Parser(catalogue).group(body, "", 1, frozenset({"name", "description"}))
    return SegmentDefinition(name.strip(), description, root)


def parse_rules(body: Any, catalogue: Catalogue) -> Group:
    """Parse a bare rule group ({match, rules}), as a preview takes it."""
    if not isinstance(body, dict):
        raise ValidationError("expected a JSON object", "/", "invalid_type")
    return _Parser(catalogue).group(body, "", 1, frozenset({"name", "description"}))
