"""The operator registry declares each operator once; its self-check keeps the columnar evaluator
able to answer every rule the parser accepts."""

import pytest

from chalicelib.rules import vectors
from chalicelib.rules.operators import OPERATORS, VALUE_CHECKS, Operator
from chalicelib.rules.stored import FIELD_TYPES


def test_every_operator_declares_a_mask_for_every_type_it_applies_to():
    for op in OPERATORS.values():
        assert op.types and set(op.types) <= set(FIELD_TYPES), op.name
        assert set(op.types) <= set(op.vectors), op.name
        assert op.value in VALUE_CHECKS and op.label, op.name


def test_an_operator_without_a_mask_for_one_of_its_types_is_refused():
    # GIVEN an operator that applies to numbers and text but has a mask for numbers only
    # WHEN it is declared THEN the declaration fails (at import, for the registry)
    with pytest.raises(ValueError, match="no column mask for \\['text'\\]"):
        Operator(
            "same",
            "is the same",
            ("number", "text"),
            "scalar",
            lambda s, x, now: s == x,
            {"number": vectors.compare("eq")},
        )


def test_an_unknown_value_shape_is_refused():
    with pytest.raises(ValueError, match="value shape"):
        Operator(
            "odd",
            "odd",
            ("number",),
            "triple",
            lambda s, x, now: True,
            {"number": vectors.typed_rows},
        )
