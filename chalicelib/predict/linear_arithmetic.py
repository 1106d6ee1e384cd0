"""A fitted StandardScaler + linear model pipeline's arithmetic, without scikit-learn's per-call
input validation: scoring a batch of 500 profiles spent half its time there."""

from __future__ import annotations

import numpy as np
from scipy.special import expit
from sklearn.linear_model import LogisticRegression, PoissonRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler


def standardise_and_predict(
    pipeline: Pipeline, Xt: np.ndarray, probability: bool, inplace: bool = False
):
    """(standardised Xt, prediction) of a StandardScaler + linear model pipeline: the same
    arithmetic as `predict_proba(Xt)[:, 1]` / `predict(Xt)`, without scikit-learn's per-call
    input validation (half the time of a 500-profile batch). The standardised matrix is what
    explanations weigh (computed in Xt's own memory with `inplace`). Any other pipeline goes
    through scikit-learn."""
    steps = getattr(pipeline, "steps", None)
    scaler, model = (steps[0][1], steps[-1][1]) if steps and len(steps) == 2 else (None, None)
    kind = type(model)
    plain = (
        type(scaler) is StandardScaler
        and scaler.with_mean
        and scaler.with_std
        and getattr(scaler, "n_features_in_", None) == Xt.shape[1]
        and (
            (
                probability
                and kind is LogisticRegression
                and len(model.classes_) == 2
                and model.coef_.shape == (1, Xt.shape[1])
            )
            or (not probability and kind is PoissonRegressor)
        )
    )
    if not plain:
        Z = _standardise_any(pipeline, Xt)
        return Z, (pipeline.predict_proba(Xt)[:, 1] if probability else pipeline.predict(Xt))
    Z = (
        Xt
        if inplace and Xt.dtype == np.float64 and Xt.flags.c_contiguous
        else np.array(Xt, dtype=np.float64, order="C", copy=True)
    )
    Z -= scaler.mean_.astype(np.float64)  # StandardScaler.transform, in place as it does
    Z /= scaler.scale_.astype(np.float64)
    if probability:  # LogisticRegression.decision_function, then the binary predict_proba
        scores = (Z @ model.coef_.T + model.intercept_).reshape(-1)
        return Z, expit(scores, out=scores)
    return Z, np.exp(Z @ model.coef_ + model.intercept_)  # PoissonRegressor: log link


def _standardise_any(pipeline: Pipeline, Xt: np.ndarray) -> np.ndarray | None:
    steps = getattr(pipeline, "named_steps", {})
    scaler = steps.get("scale") if hasattr(steps, "get") else None
    if scaler is None or not hasattr(scaler, "mean_"):
        return None
    return (Xt - scaler.mean_) / scaler.scale_
