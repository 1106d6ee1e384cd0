"""The predictive fields, each declared once.

Everything that lists them reads this module: the scoring code (a scored row's keys and their
order, the explanations' keys, rounding, when a rescore rewrites a profile), the segment field
catalogue (rules/fields.py: what a rule can name), the CLI export, the segment export's default
columns, and the tests (the OpenAPI spec's Predictive schema is checked against it). Adding a
predictive field: its module in predict/, one declaration here, its tests.

Pure: standard library only. Types use the field catalogue's vocabulary (number, enum, date,
text) plus integer for whole-day horizons.
"""

from __future__ import annotations

from dataclasses import dataclass

CUSTOMER_TYPES = ("Explorer", "Single-minded", "Passionate", "Economical", "Believer")
PERSUASION_TYPES = ("Reciprocity", "Commitment", "Social proof", "Authority", "Liking", "Scarcity")
# Customers' stages by the rules of predict/retention.py (docs/predictive.md: the rules and the
# transitions between stages).
LIFECYCLE_STAGES = ("New", "Promising", "Loyal", "At risk", "Sleeping", "One-time", "Lost")


@dataclass(frozen=True)
class PredictiveField:
    name: str  # the key in a profile's `predictive` document
    label: str
    type: str  # number | integer | enum | date | text
    minimum: float | None = None
    maximum: float | None = None
    values: tuple[str, ...] = ()  # an enum's values
    decimals: int | None = None  # a number is stored rounded to this many decimals
    optional: bool = False  # left out of a scored row when it has no value
    explained: bool = False  # scoring gives plain-word reasons for it (explanations[name])
    segmentable: bool = False  # a segment rule can name it (predictive.<name> in the catalogue)
    export_default: bool = False  # among a segment export's default columns
    # When a rescore rewrites a stored score: a number that moved by more than this, any change
    # of a value at 0, None for values that change with every scoring (when, as of which day).
    rewrite_above: float | None = None

    @property
    def path(self) -> str:
        return f"predictive.{self.name}"


FIELDS = (
    PredictiveField(
        "conversion_potential",
        "Conversion potential",
        "number",
        minimum=0,
        maximum=100,
        decimals=1,
        explained=True,
        segmentable=True,
        export_default=True,
        rewrite_above=0.5,
    ),
    PredictiveField(
        "clv",
        "Customer lifetime value",
        "number",
        minimum=0,
        decimals=2,
        explained=True,
        segmentable=True,
        export_default=True,
        rewrite_above=0.5,
    ),
    PredictiveField(
        "clv_past",
        "CLV: spend so far",
        "number",
        minimum=0,
        decimals=2,
        segmentable=True,
        rewrite_above=0.005,
    ),
    PredictiveField(
        "clv_predicted",
        "CLV: predicted spend",
        "number",
        minimum=0,
        decimals=2,
        segmentable=True,
        rewrite_above=0.5,
    ),
    PredictiveField(
        "customer_type",
        "Customer type",
        "enum",
        values=CUSTOMER_TYPES,
        optional=True,
        explained=True,
        segmentable=True,
        export_default=True,
        rewrite_above=0,
    ),
    PredictiveField(
        "persuasion_type",
        "Persuasion type",
        "enum",
        values=PERSUASION_TYPES,
        optional=True,
        explained=True,
        segmentable=True,
        export_default=True,
        rewrite_above=0,
    ),
    PredictiveField("scored_at", "Scored at", "date", segmentable=True),
    PredictiveField("as_of", "Scored as of", "date"),
    PredictiveField("model_version", "Model version", "text", rewrite_above=0),
    PredictiveField(
        "conversion_horizon_days",
        "Conversion horizon (days)",
        "integer",
        minimum=1,
        rewrite_above=0,
    ),
    PredictiveField(
        "clv_horizon_days", "CLV horizon (days)", "integer", minimum=1, rewrite_above=0
    ),
    PredictiveField(
        "churn_horizon_days", "Churn horizon (days)", "integer", minimum=1, rewrite_above=0
    ),
    # Retention (predict/retention.py): customers only; the last four, so a scored row adds
    # them after the others in this order.
    PredictiveField(
        "churn_risk",
        "Churn risk",
        "number",
        minimum=0,
        maximum=100,
        decimals=1,
        optional=True,
        explained=True,
        segmentable=True,
        export_default=True,
        rewrite_above=0.5,
    ),
    PredictiveField(
        "lifecycle_stage",
        "Lifecycle stage",
        "enum",
        values=LIFECYCLE_STAGES,
        optional=True,
        segmentable=True,
        export_default=True,
        rewrite_above=0,
    ),
    PredictiveField(
        "next_order_at",
        "Expected next order",
        "date",
        optional=True,
        explained=True,
        segmentable=True,
        export_default=True,
        # moves with the gap below, which decides (a day's drift alone rewrites nothing)
        rewrite_above=None,
    ),
    PredictiveField(
        "next_order_gap_days",
        "Expected days from the last order to the next",
        "number",
        minimum=1,
        decimals=0,
        optional=True,
        segmentable=True,
        rewrite_above=3,
    ),
)

BY_NAME = {f.name: f for f in FIELDS}
NAMES = tuple(BY_NAME)
EXPLAINED = tuple(f.name for f in FIELDS if f.explained)
