"""Scoring: profile documents in, the predictive fields (predict/fields.py, with explanations)
out. Pure and vectorised over a batch."""

from __future__ import annotations

import gc
from datetime import date, datetime, timezone
from itertools import repeat

import numpy as np

from . import customer_types, persuasion, retention
from .explain import grouped_reasons
from .features import F, History
from .fields import EXPLAINED, FIELDS, NAMES
from .model import MODEL_FEATURES, PredictiveModel
from .retention_fit import default_params

# A rescore writes a profile only when a number moved by more than its tolerance, or another
# compared value changed (predict/fields.py: rewrite_above).
TOLERANCE = {f.name: f.rewrite_above for f in FIELDS if f.rewrite_above}
COMPARED = tuple(f.name for f in FIELDS if f.rewrite_above == 0)


def cut_of(as_of: date) -> int:
    """Scoring as of a date counts that whole day."""
    return as_of.toordinal() + 1


def score(
    behaviours: list[dict],
    model: PredictiveModel,
    as_of: date | None = None,
    with_explanations: bool = True,
    conversion_horizon: int | None = None,
    clv_horizon: int | None = None,
    churn_horizon: int | None = None,
) -> list[dict]:
    horizons = (conversion_horizon, clv_horizon, churn_horizon)
    if len(behaviours) < _GC_PAUSE_FROM or not gc.isenabled():
        return _score(behaviours, model, as_of, with_explanations, *horizons)
    # A big in-memory batch builds millions of short-lived lists and dicts, none of them in a
    # reference cycle: the cyclic collector would walk the whole heap again and again for
    # nothing (a quarter of the time with explanations on 100,000 profiles). Paused, not
    # skipped: it runs as usual once scoring returns.
    gc.disable()
    try:
        return _score(behaviours, model, as_of, with_explanations, *horizons)
    finally:
        gc.enable()


_GC_PAUSE_FROM = 5_000


def _score(
    behaviours, model, as_of, with_explanations, conversion_horizon, clv_horizon, churn_horizon
):
    now = datetime.now(timezone.utc)
    as_of = as_of or now.date()
    cut = cut_of(as_of)
    history = History.from_behaviours(behaviours)
    conversion_horizon = conversion_horizon or model.conversion_horizon
    clv_horizon = clv_horizon or model.clv_horizon
    out = model.predict_arrays(history, cut, conversion_horizon, clv_horizon)
    X = out["features"]
    # never store NaN or infinity: a numerical failure reads as "no signal"
    p = _nan_to_num(out["conversion"], nan=0.0, posinf=1.0, neginf=0.0)
    clv_past = X[:, F["spend"]]
    clv_predicted = np.clip(_nan_to_num(out["clv_predicted"], nan=0.0, posinf=0.0), 0, 1e12)
    # No purchase and no visit before the as-of date (a profile from attributes alone): no
    # evidence, so the population's prior, not what the model extrapolates from empty features
    no_evidence = np.isnan(X[:, F["days_since_first_seen"]])
    if no_evidence.any():
        prior_p, prior_spend = model.prior_scores(conversion_horizon, clv_horizon)
        p = np.where(no_evidence, prior_p, p)
        clv_predicted = np.where(no_evidence, prior_spend, clv_predicted)
    clv = clv_past + clv_predicted
    md = model.metadata
    types, type_reasons = customer_types.classify(
        X,
        clv,
        customer_types.first_web_order_delay(history, cut),
        X[:, F["page_views"]],
        X[:, F["discount_interactions"]],
        customer_types.thresholds(md, model.money_scale),
        with_reasons=with_explanations,
    )
    shown, responded = persuasion.counts(behaviours)
    prior = np.array(md.get("persuasion_prior") or [persuasion.DEFAULT_RATE] * shown.shape[1])
    principles, principle_reasons = persuasion.types(
        shown, responded, prior, with_reasons=with_explanations
    )
    values = {
        "conversion_potential": 100 * p,
        "clv": clv,
        "clv_past": clv_past,
        "clv_predicted": clv_predicted,
        "customer_type": types,
        "persuasion_type": principles,
        "scored_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "as_of": as_of.isoformat(),
        "model_version": md.get("version", "unsaved"),
        "conversion_horizon_days": conversion_horizon,
        "clv_horizon_days": clv_horizon,
    }
    # a model trained with its own retention parameters carries them (and the churn horizon
    # they were fitted for); else the default's
    kept_params = md.get("retention") or default_params()
    churn_horizon = (
        churn_horizon or kept_params.get("horizon_days") or retention.DEFAULT_CHURN_HORIZON
    )
    kept, kept_reasons = retention.fields(
        X,
        model.bg,
        kept_params,
        as_of.toordinal(),
        churn_horizon,
        with_explanations,
        # parameters served to a population other than the one they learned from read its
        # amounts at their scale (retention_fit.for_population)
        money_scale=float(kept_params.get("money_scale", 1.0)),
    )
    values.update(kept)
    values["churn_horizon_days"] = churn_horizon
    results = _rows(values)
    if with_explanations:
        explanations = _explanations(
            model, out, clv_past, type_reasons, principle_reasons, no_evidence, kept_reasons
        )
        for row, e in zip(results, explanations):
            row["explanations"] = e
    return results


def _rows(values: dict) -> list[dict]:
    """One dict per profile, keys in the declared order (predict/fields.py), an optional field
    without a value left out. `values` holds every declared field: an array or list per profile,
    or one value for the whole batch."""
    columns = []
    for f in FIELDS:
        v = values[f.name]
        if isinstance(v, np.ndarray):
            v = (np.round(v, f.decimals) if f.decimals is not None else v).tolist()
        elif not isinstance(v, list):
            if v is None:  # a batch-wide value missing: every row leaves it out
                return _rows_general(values)
            v = repeat(v)
        columns.append(v)
    return _ROWS(columns)


def _rows_general(values: dict) -> list[dict]:
    n = max(len(v) for v in values.values() if isinstance(v, (list, np.ndarray)))
    columns = {}
    for f in FIELDS:
        v = values[f.name]
        if isinstance(v, np.ndarray):
            v = (np.round(v, f.decimals) if f.decimals is not None else v).tolist()
        elif not isinstance(v, list):
            v = [v] * n
        columns[f.name] = v
    return [{k: c[i] for k, c in columns.items() if c[i] is not None} for i in range(n)]


def _displays(names: tuple[str, ...], optional: tuple[str, ...] = ()):
    """A function from columns (one iterable per name, in order) to a list of dicts, a key of
    `optional` left out where its value is None. Generated from the names as one comprehension
    over dict displays: building 100,000 rows that way takes a quarter of the time of
    dict(zip(names, values)), a tenth of a fields-only rescore's time."""
    if not all(n.isidentifier() for n in names) or not set(optional) <= set(names):
        raise ValueError(f"not field names: {names}")
    variables = {n: f"v{i}" for i, n in enumerate(names)}

    def display(absent: frozenset) -> str:
        return "{" + ", ".join(f"{n!r}: {variables[n]}" for n in names if n not in absent) + "}"

    def decide(i: int, absent: frozenset) -> str:
        """A nested choice, one test per optional name: each row pays len(optional) tests,
        not one per combination."""
        if i == len(optional):
            return display(absent)
        v = variables[optional[i]]
        present, missing = decide(i + 1, absent), decide(i + 1, absent | {optional[i]})
        return f"({present} if {v} is not None else {missing})"

    expression = decide(0, frozenset())
    source = f"lambda columns: [{expression} for {', '.join(variables.values())} in zip(*columns)]"
    return eval(source, {"__builtins__": {"zip": zip}})  # noqa: S307 - names checked above


_ROWS = _displays(NAMES, tuple(f.name for f in FIELDS if f.optional))
_EXPLANATIONS = _displays(EXPLAINED)


NO_EVIDENCE = "no behaviour recorded yet: the average of the profiles the model learned from"


def classic_share(weight: float) -> str | None:
    """How a customer's reason names the shop's own classic model when it makes most of the
    score (a blend weight below 0.5, blend.py): the reasons after it describe the trained
    pipeline, which then moves the score less than they would suggest (not at all at 0)."""
    if weight >= 0.5:
        return None
    return f"{round(100 * (1 - weight))} % from this shop's own purchase pattern"


def _days(n: float, what: str = "day") -> str:
    return f"{n:.0f} {what}{'s' * (n != 1)}"


def _bgnbd_phrase(days: float, last: float) -> str:
    return f"(BG/NBD): bought on {_days(days)}, the last {_days(last)} ago"


def _gamma_gamma_phrase(days: float, per_day: float) -> str:
    return f"(BG/NBD x Gamma-Gamma): {_days(days, 'purchase day')}, {per_day:.0f} a day"


def _classic_conversion(features: np.ndarray):
    """What BG/NBD reads of each customer (purchase days, days since the last), and its phrase."""
    days, last = features[:, F["purchase_days"]], features[:, F["days_since_last_order"]]
    return np.column_stack([days, last]), _bgnbd_phrase


def _classic_spend(features: np.ndarray):
    """Each customer's purchase days and spend per day (what Gamma-Gamma shrinks), and its
    phrase."""
    days = features[:, F["purchase_days"]]
    per_day = np.round(features[:, F["spend"]] / np.maximum(days, 1))
    return np.column_stack([days, per_day]), _gamma_gamma_phrase


def _lead_customers(reasons, features, customer, weight: float, numbers, after: int) -> None:
    """Put the classic model's reason after the first `after` reasons of each customer's list
    (at most 3; at weight 0 nothing after it, since the pipeline then moves nothing). Each
    distinct pair of numbers is formatted once."""
    prefix = classic_share(weight)
    if prefix is None:
        return
    rows = np.flatnonzero(customer)
    values, phrase = numbers(features[rows])
    # a pair as one complex number makes np.unique 1-D (fast) and keeps any magnitude
    pairs = np.nan_to_num(values[:, 0]) + 1j * np.nan_to_num(values[:, 1])
    distinct, which = np.unique(pairs, return_inverse=True)
    phrases = [f"{prefix} " + phrase(z.real, z.imag) for z in distinct.tolist()]
    kept = 0 if weight == 0 else 3  # the pipeline's own reasons after it
    for i, k in zip(rows.tolist(), which.ravel().tolist()):
        r = reasons[i]
        reasons[i] = (r[:after] + [phrases[k]] + r[after:][:kept])[:3]


def _explanations(
    model: PredictiveModel,
    out: dict,
    clv_past: np.ndarray,
    type_reasons: list,
    principle_reasons: list,
    no_evidence: np.ndarray,
    retention_reasons: dict,
) -> list[dict]:
    def weighed(pipeline, Z):
        coef = np.ravel(pipeline.named_steps["model"].coef_)
        return Z * coef  # each feature's share of the linear score (explain.contributions)

    conversion_reasons = grouped_reasons(
        weighed(model.conversion, out["conversion_Z"]),
        out["conversion_Z"],
        out["conversion_X"],
        MODEL_FEATURES,
    )
    clv_reasons = grouped_reasons(
        weighed(model.clv, out["clv_Z"]), out["clv_Z"], out["clv_X"], MODEL_FEATURES
    )
    # "spent N so far" leads the CLV reasons (once, if a reason says it too)
    clv_lists = []
    for v, r in zip(clv_past.tolist(), clv_reasons):
        first = f"spent {v:.0f} so far"
        # the reasons never repeat one another, so only `first` can be a duplicate
        clv_lists.append(([first] + r)[:3] if first not in r else _dedupe([first] + r)[:3])
    for reasons, weight, phrase, after in (
        (conversion_reasons, model.blend_weight, _classic_conversion, 0),
        (clv_lists, model.spend_blend_weight, _classic_spend, 1),  # after "spent N so far"
    ):
        _lead_customers(reasons, out["features"], out["customer"], weight, phrase, after)
    for i in np.flatnonzero(no_evidence).tolist():
        conversion_reasons[i] = [NO_EVIDENCE]
        clv_lists[i] = [clv_lists[i][0], NO_EVIDENCE]
    reasons = {
        "conversion_potential": conversion_reasons,
        "clv": clv_lists,
        "customer_type": type_reasons,
        "persuasion_type": principle_reasons,
        **retention_reasons,
    }
    return _EXPLANATIONS([reasons[name] for name in EXPLAINED])


def _nan_to_num(
    a: np.ndarray, nan: float, posinf: float | None = None, neginf: float | None = None
) -> np.ndarray:
    """np.nan_to_num's values; without infinities to replace, a plain np.where (5x faster)."""
    if np.isinf(a).any():
        return np.nan_to_num(a, nan=nan, posinf=posinf, neginf=neginf)
    return np.where(np.isnan(a), nan, a)


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def changed(old: dict | None, new: dict) -> bool:
    """Whether a new score differs enough from the stored one to be written."""
    if not old:
        return True
    if any(old.get(key) != new.get(key) for key in COMPARED):
        return True
    return any(abs((old.get(k) or 0) - (new.get(k) or 0)) > tol for k, tol in TOLERANCE.items())
