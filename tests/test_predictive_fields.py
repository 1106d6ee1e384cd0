"""The predictive fields are declared once (chalicelib/predict/fields.py): the scoring code, the
segment catalogue, the exports, the rescore's write rule and the OpenAPI spec agree with it."""

import json
from datetime import date

import pytest

from chalicelib.api import docs_routes
from chalicelib.predict import artifact
from chalicelib.predict import fields as predictive
from chalicelib.predict.scoring import changed, score
from chalicelib.rules.fields import PREDICTIVE_FIELDS, Catalogue
from chalicelib.rules.stored import FIELD_TYPES
from chalicelib.services import export_format

SPEC = json.loads(docs_routes.SPEC_PATH.read_text(encoding="utf-8"))


def _enums(node):
    """Every enum list in a JSON document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "enum" and isinstance(value, list):
                yield value
            else:
                yield from _enums(value)
    elif isinstance(node, list):
        for value in node:
            yield from _enums(value)


def test_the_spec_predictive_schema_is_the_declaration():
    """GIVEN the OpenAPI spec's Predictive schema WHEN compared with the declaration THEN it has
    exactly the declared fields, in order, with their types, ranges and enum values, and the
    explained fields' explanations."""
    schema = SPEC["components"]["schemas"]["Predictive"]["properties"]
    assert list(schema) == list(predictive.NAMES) + ["explanations"]
    for f in predictive.FIELDS:
        prop = schema[f.name]
        if f.type == "enum":
            assert prop["enum"] == list(f.values), f.name
        elif f.type in ("number", "integer"):
            assert prop["type"] == f.type, f.name
            assert prop.get("minimum") == f.minimum and prop.get("maximum") == f.maximum, f.name
    assert list(schema["explanations"]["properties"]) == list(predictive.EXPLAINED)


def test_every_enum_of_the_spec_with_a_type_or_predictive_path_equals_the_declaration():
    """GIVEN every enum in the spec WHEN it names a customer type, a persuasion principle or a
    predictive field path THEN it lists exactly the declared ones (the event's principle, the
    behaviour's persuasion counts and the rule's field paths included)."""
    segmentable = [f.path for f in predictive.FIELDS if f.segmentable]
    seen = {"customer": 0, "persuasion": 0, "paths": 0}
    for enum in _enums(SPEC):
        if set(enum) & set(predictive.CUSTOMER_TYPES):
            assert enum == list(predictive.CUSTOMER_TYPES)
            seen["customer"] += 1
        if set(enum) & set(predictive.PERSUASION_TYPES):
            assert enum == list(predictive.PERSUASION_TYPES)
            seen["persuasion"] += 1
        paths = [v for v in enum if isinstance(v, str) and v.startswith("predictive.")]
        if paths:
            assert paths == segmentable
            seen["paths"] += 1
    assert seen["customer"] >= 1 and seen["persuasion"] >= 3 and seen["paths"] >= 1


def test_the_catalogue_and_the_exports_read_the_declaration():
    """GIVEN the declaration WHEN the field catalogue and the export defaults are built THEN
    they hold the segmentable fields and the export-default ones, typed for the catalogue."""
    assert [f.path for f in PREDICTIVE_FIELDS] == [
        f.path for f in predictive.FIELDS if f.segmentable
    ]
    catalogue = Catalogue()
    for f in predictive.FIELDS:
        entry = catalogue.get(f.path)
        assert (entry is not None) == f.segmentable
        if entry is not None:
            assert f.type in FIELD_TYPES and entry.operators
            assert (entry.label, entry.type, entry.values, entry.minimum, entry.maximum) == (
                f.label,
                f.type,
                f.values,
                f.minimum,
                f.maximum,
            )
    exported = [p for p in export_format.DEFAULT_FIELDS if p.startswith("predictive.")]
    assert exported == [f.path for f in predictive.FIELDS if f.export_default]


def test_a_scored_row_has_the_declared_fields_in_order():
    """GIVEN a visitor and a customer WHEN scored THEN each row's keys are the declared fields
    in order (an optional one without a value left out), numbers rounded as declared, and the
    explanations cover the explained fields."""
    behaviours = [
        {"activity": {"2026-05-01": [1, 3, 1, 0, 0]}},
        {
            "purchases": {"2026-01-05": [1, 20.0], "2026-04-01": [2, 55.5]},
            "activity": {"2026-04-01": [2, 9, 4, 2, 1]},
            "persuasion": {"Liking": [20, 15], "Authority": [20, 0]},
        },
    ]
    rows = score(behaviours, artifact.default_model(), date(2026, 6, 1))
    for row in rows:
        keys = [k for k in row if k != "explanations"]
        assert keys == [f.name for f in predictive.FIELDS if f.name in row or not f.optional]
        for f in predictive.FIELDS:
            if f.decimals is not None and f.name in row:
                assert row[f.name] == round(row[f.name], f.decimals)
        assert list(row["explanations"]) == list(predictive.EXPLAINED)
    assert rows[1]["persuasion_type"] == "Liking"


@pytest.mark.parametrize(
    "field", [f for f in predictive.FIELDS if f.rewrite_above is not None], ids=lambda f: f.name
)
def test_a_rescore_rewrites_when_a_declared_value_moves_past_its_tolerance(field):
    """GIVEN a stored score WHEN a field moves by its tolerance THEN it is kept, and WHEN it
    moves further (or, at tolerance 0, changes at all) THEN the profile is rewritten."""
    old = {
        "conversion_potential": 40.0,
        "clv": 100.0,
        "clv_past": 50.0,
        "clv_predicted": 50.0,
        "customer_type": "Explorer",
        "persuasion_type": "Liking",
        "model_version": "v1",
        "conversion_horizon_days": 30,
        "clv_horizon_days": 365,
        "churn_horizon_days": 90,
        "churn_risk": 40.0,
        "lifecycle_stage": "Loyal",
        "next_order_gap_days": 30.0,
        "scored_at": "2026-06-01T00:00:00Z",
        "as_of": "2026-06-01",
    }
    assert not changed(old, {**old, "scored_at": "2026-06-02T00:00:00Z", "as_of": "2026-06-02"})
    if field.rewrite_above:
        assert not changed(old, {**old, field.name: old[field.name] + field.rewrite_above / 2})
        assert changed(old, {**old, field.name: old[field.name] + 2 * field.rewrite_above})
    else:
        other = {
            "customer_type": "Believer",
            "persuasion_type": None,
            "model_version": "v2",
            "conversion_horizon_days": 7,
            "clv_horizon_days": 90,
            "churn_horizon_days": 30,
            "lifecycle_stage": "At risk",
        }[field.name]
        assert changed(old, {**old, field.name: other})
