"""Rule model, validation and evaluation of segments. Pure: no boto3, no PynamoDB."""
from .evaluate import ABSENT, compile_rules, field_value
from .fields import Catalogue, Field
from .rules import Condition, Group, SegmentDefinition, parse_rules, parse_segment

__all__ = ["ABSENT", "Catalogue", "Condition", "Field", "Group", "SegmentDefinition", "compile_rules",
           "field_value", "parse_rules", "parse_segment"]
