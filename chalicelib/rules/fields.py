"""The field catalogue: every field a rule can name, with its type and allowed operators.

Built-in fields (behaviour and predictive) are fixed; attribute fields come from what a project has
stored, typed by the kind most of their values have.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..predict import fields as predictive
from .event_keys import EventSettings
from .operators import OPERATORS_BY_TYPE
from .stored import BOOLEAN, DATE, LIST, NUMBER, TEXT


@dataclass(frozen=True)
class Field:
    path: str
    label: str
    group: str  # profile | behaviour | predictive
    type: str
    values: tuple[str, ...] = field(default=())
    minimum: float | None = None
    maximum: float | None = None

    @property
    def operators(self) -> tuple[str, ...]:
        return OPERATORS_BY_TYPE[self.type]

    def to_dict(self) -> dict:
        out = {
            "path": self.path,
            "label": self.label,
            "group": self.group,
            "type": self.type,
            "operators": list(self.operators),
        }
        if self.values:
            out["values"] = list(self.values)
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        return out


BEHAVIOUR_FIELDS = (
    Field("behaviour.sessions", "Sessions", "behaviour", NUMBER, minimum=0),
    Field("behaviour.page_views", "Page views", "behaviour", NUMBER, minimum=0),
    Field("behaviour.product_views", "Product views", "behaviour", NUMBER, minimum=0),
    Field("behaviour.add_to_cart", "Add-to-carts", "behaviour", NUMBER, minimum=0),
    Field("behaviour.orders", "Orders", "behaviour", NUMBER, minimum=0),
    Field("behaviour.revenue", "Revenue", "behaviour", NUMBER, minimum=0),
    Field("behaviour.average_order_value", "Average order value", "behaviour", NUMBER, minimum=0),
    Field(
        "behaviour.discount_interactions", "Discount interactions", "behaviour", NUMBER, minimum=0
    ),
    Field("behaviour.first_seen", "First seen", "behaviour", DATE),
    Field("behaviour.last_seen", "Last seen", "behaviour", DATE),
    Field("behaviour.first_order_at", "First order", "behaviour", DATE),
    Field("behaviour.last_order_at", "Last order", "behaviour", DATE),
)

# The predictive fields a rule can name, as predict/fields.py declares them.
PREDICTIVE_FIELDS = tuple(
    Field(
        f.path, f.label, "predictive", f.type, values=f.values, minimum=f.minimum, maximum=f.maximum
    )
    for f in predictive.FIELDS
    if f.segmentable
)

# Kind of a stored attribute value -> field type of the attribute in the catalogue.
ATTRIBUTE_KIND_TYPES = {
    "string": TEXT,
    "number": NUMBER,
    "boolean": BOOLEAN,
    "list": LIST,
    "date": DATE,
}


def attribute_field(name: str, kind_counts: dict[str, int]) -> Field | None:
    """The catalogue entry of attribute `name`, typed by the kind most of its stored values have."""
    counts = {k: n for k, n in kind_counts.items() if k in ATTRIBUTE_KIND_TYPES and n > 0}
    if not counts:
        return None
    # Ties resolve in a fixed order so the catalogue does not flicker.
    kind = max(sorted(counts), key=lambda k: counts[k])
    return Field(
        f"attributes.{name}",
        name.replace("_", " ").capitalize(),
        "profile",
        ATTRIBUTE_KIND_TYPES[kind],
    )


class Catalogue:
    """Fields by path; the single source of truth for validation and the /fields route."""

    def __init__(
        self,
        attribute_kinds: dict[str, dict[str, int]] | None = None,
        settings: EventSettings | None = None,
    ):
        self.settings = settings or EventSettings()  # event conditions: zone, properties
        fields = list(BEHAVIOUR_FIELDS) + list(PREDICTIVE_FIELDS)
        for name in sorted(attribute_kinds or {}):
            f = attribute_field(name, attribute_kinds[name])
            if f is not None:
                fields.append(f)
        self._by_path = {f.path: f for f in fields}

    def get(self, path: str) -> Field | None:
        return self._by_path.get(path)

    def __iter__(self):
        groups = {"profile": 0, "behaviour": 1, "predictive": 2}
        return iter(sorted(self._by_path.values(), key=lambda f: (groups[f.group], f.path)))

    def to_list(self) -> list[dict]:
        return [f.to_dict() for f in self]
