"""Rule model, validation and evaluation of segments. Pure: no boto3, no PynamoDB."""

from .evaluate import compile_rules
from .fields import Catalogue, Field
from .stored import ABSENT, field_value
from .tree import Condition, Group, SegmentDefinition, parse_rules, parse_segment

__all__ = [
    "ABSENT",
    "Catalogue",
    "Condition",
    "Field",
    "Group",
    "SegmentDefinition",
    "compile_rules",
    "field_value",
    "parse_rules",
    "parse_segment",
]
