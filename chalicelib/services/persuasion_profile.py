"""A profile's persuasion profile (GET /projects/{p}/profiles/{id}/persuasion): each principle's
posterior from the profile's exposures and responses, and the principle to show next (Thompson
sampling; predict/persuasion.py)."""

from __future__ import annotations

import numpy as np

from ..infra.errors import ValidationError
from ..predict import persuasion
from ..predict.fields import PERSUASION_TYPES
from . import profiles


def check_seed(text: str | None) -> int | None:
    if text is None:
        return None
    if not text.isdigit() or len(text) > 10 or int(text) >= 2**32:
        raise ValidationError("seed must be a whole number from 0 to 4294967295", "/seed")
    return int(text)


def persuasion_profile(project_id: str, profile_id: str, seed: int | None = None) -> dict:
    from .scoring_jobs import current_model  # the population prior of the model that scores

    document = profiles.get(project_id, profile_id)  # 404 for an unknown profile
    shown, responded = persuasion.counts([document.get("behaviour") or {}])
    prior = current_model(project_id).metadata.get("persuasion_prior")
    prior = np.array(prior or [persuasion.DEFAULT_RATE] * len(PERSUASION_TYPES))
    rng = np.random.default_rng(seed)
    return {
        "profile_id": profile_id,
        **persuasion.summary(shown[0], responded[0], prior, rng),
    }
