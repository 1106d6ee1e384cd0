"""What the event-condition tests share: profiles with events aggregated by the product's own
code (behaviour.apply_events) and as rule documents, a sample event condition, hypothesis
strategies of event conditions, and a plain reference evaluator written straight from the
README's contract."""

import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import strategies as st
from rule_reference import NOW

from chalicelib.behaviour import apply_events, parse_event
from chalicelib.rules import Catalogue
from chalicelib.rules.event_keys import EventSettings

PROPERTIES = ("category", "size")
ZONES = ("UTC", "Pacific/Kiritimati", "America/Los_Angeles")
TYPES = ("purchase", "page_view", "custom", "search")
CATEGORIES = ("vinyl", "cd", "", 1, 2.5, True)
NAMES = ("signup", "quiz")
PURCHASES_2_IN_30 = {
    "event": "purchase",
    "count": {"operator": "gte", "value": 2},
    "window": {"within_last_days": 30},
}


def catalogue(zone):
    """rule_reference's catalogue, in a project with a time zone and declared properties."""
    attributes = {"n": {"number": 1}, "t": {"string": 1}, "l": {"list": 1}, "b": {"boolean": 1}}
    return Catalogue({**attributes, "d": {"date": 1}}, EventSettings(zone, PROPERTIES))


@st.composite
def raw_events(draw, profile_id="p"):
    out = []
    for i in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from(TYPES))
        # hours around NOW: days on both sides of every window edge, in every zone
        when = NOW - timedelta(hours=draw(st.integers(-30, 24 * 40)))
        event = {
            "event_id": f"e{i}",
            "profile_id": profile_id,
            "type": kind,
            "timestamp": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        properties = {}
        for prop in PROPERTIES:
            if draw(st.booleans()):
                properties[prop] = draw(st.sampled_from(CATEGORIES))
        if kind == "custom" and draw(st.booleans()):
            properties["name"] = draw(st.sampled_from(NAMES))
        if properties:
            event["properties"] = properties
        if kind == "purchase":
            event["value"] = draw(st.sampled_from([0, 5, 12.5, 12.55, 100]))
        out.append(event)
    return out


def behaviour_of(events, zone):
    parsed = [parse_event(e, "/", now=NOW + timedelta(days=2)) for e in events]
    return apply_events(None, parsed, EventSettings(zone, PROPERTIES))


def documents_of(populations, zone, attributes=None):
    return [
        {
            "profile_id": f"p{i:02d}",
            "attributes": (attributes or {}).get(i, {}),
            "predictive": {},
            "behaviour": behaviour_of(events, zone),
        }
        for i, events in enumerate(populations)
    ]


DAYS = st.integers(-3, 40).map(lambda d: (NOW.date() - timedelta(days=d)).isoformat())
WINDOWS = st.one_of(
    st.none(),
    st.integers(1, 40).map(lambda n: {"within_last_days": n}),
    st.lists(DAYS, min_size=2, max_size=2).map(lambda d: {"between": sorted(d)}),
    DAYS.map(lambda d: {"before": d}),
    DAYS.map(lambda d: {"after": d}),
)
COUNTS = st.one_of(
    st.tuples(st.sampled_from(["eq", "neq", "gt", "gte", "lt", "lte"]), st.integers(0, 3)),
    st.tuples(st.just("between"), st.lists(st.integers(0, 3), min_size=2, max_size=2).map(sorted)),
)
SUMS = st.tuples(
    st.sampled_from(["eq", "gt", "gte", "lt", "lte"]), st.sampled_from([0, 12.5, 17.5, 25.05])
)
WHERE = st.one_of(
    st.tuples(st.sampled_from(["eq", "neq"]), st.sampled_from(["vinyl", "cd", "", 1, 2.5])),
    st.tuples(st.sampled_from(["in", "not_in"]), st.sampled_from([["vinyl", "cd"], [1, 2.5]])),
    st.tuples(st.sampled_from(["gt", "gte", "lt", "lte"]), st.sampled_from([1, 2, 2.5])),
    st.tuples(st.just("between"), st.just([1, 2])),
    st.tuples(
        st.sampled_from(["contains", "not_contains", "starts_with", "ends_with"]),
        st.sampled_from(["v", "cd", "", "yl"]),
    ),
)


@st.composite
def event_conditions(draw):
    event = draw(st.sampled_from(["purchase", "page_view", "custom", "search", "any"]))
    rule = {"event": event}
    if event == "custom" and draw(st.booleans()):
        rule["name"] = draw(st.sampled_from(NAMES))
    if draw(st.booleans()):
        op, value = draw(WHERE)
        rule["where"] = {
            "property": draw(st.sampled_from(PROPERTIES)),
            "operator": op,
            "value": value,
        }
    if event == "purchase" and draw(st.booleans()):
        op, value = draw(SUMS)
        rule["sum"] = {"operator": op, "value": value}
    else:
        op, value = draw(COUNTS)
        rule["count"] = {"operator": op, "value": value}
    window = draw(WINDOWS)
    if window is not None:
        rule["window"] = window
    return rule


def _window(rule, zone):
    window = rule.get("window")
    if not window:
        return date.min, date.max
    ((kind, value),) = window.items()
    if kind == "within_last_days":
        today = NOW.astimezone(ZoneInfo(zone)).date()
        return today - timedelta(days=value - 1), today
    if kind == "between":
        return date.fromisoformat(value[0]), date.fromisoformat(value[1])
    day = date.fromisoformat(value)
    return (
        (date.min, day - timedelta(days=1))
        if kind == "before"
        else (day + timedelta(days=1), date.max)
    )


def _passes(op, stored, value):
    number = lambda x: isinstance(x, (int, float)) and not isinstance(x, bool)  # noqa: E731
    if op in ("gt", "gte", "lt", "lte", "between"):
        if not number(stored):
            return False
    elif op in ("contains", "not_contains", "starts_with", "ends_with"):
        if not isinstance(stored, str):
            return False
    else:
        sample = value[0] if op in ("in", "not_in") else value
        if number(sample) != number(stored) or (not number(stored) and not isinstance(stored, str)):
            return False
    return {
        "eq": lambda: stored == value,
        "neq": lambda: stored != value,
        "in": lambda: stored in value,
        "not_in": lambda: stored not in value,
        "gt": lambda: stored > value,
        "gte": lambda: stored >= value,
        "lt": lambda: stored < value,
        "lte": lambda: stored <= value,
        "between": lambda: value[0] <= stored <= value[1],
        "contains": lambda: value in stored,
        "not_contains": lambda: value not in stored,
        "starts_with": lambda: stored.startswith(value),
        "ends_with": lambda: stored.endswith(value),
    }[op]()


def event_reference(rule, events, zone):
    """Straight from the raw events (not the stored counts): each event counts once if its type
    (custom name), property filter and day in the zone fit; compare the count or the sum."""
    first, last = _window(rule, zone)
    total = 0.0
    for e in events:
        props = e.get("properties", {})
        if rule["event"] != "any" and e["type"] != rule["event"]:
            continue
        if "name" in rule and props.get("name") != rule["name"]:
            continue
        where = rule.get("where")
        if where:
            stored = props.get(where["property"])
            if stored is None or isinstance(stored, bool):
                continue
            if not _passes(where["operator"], stored, where["value"]):
                continue
        when = datetime.fromisoformat(e["timestamp"].replace("Z", "+00:00"))
        day = when.astimezone(ZoneInfo(zone)).date()
        if first <= day <= last:
            total += round(e.get("value", 0) * 100) if "sum" in rule else 1
    measure = rule.get("count") or rule.get("sum")
    if "sum" in rule:
        total = total / 100
    return _passes_measure(measure["operator"], total, measure["value"])


def _passes_measure(op, total, value):
    return {
        "eq": lambda: total == value,
        "neq": lambda: total != value,
        "gt": lambda: total > value,
        "gte": lambda: total >= value,
        "lt": lambda: total < value,
        "lte": lambda: total <= value,
        "between": lambda: value[0] <= total <= value[1],
    }[op]()


def as_json(rule):
    return json.dumps(rule, sort_keys=True)
