"""Model artifacts: the two fitted pipelines as a skops file, everything else as JSON metadata
(version, horizons, BG/NBD parameters, training data, metrics, library versions).

Loading refuses any type outside TRUSTED_TYPES (skops does not execute arbitrary pickles), and a
loaded model is cached by version, so a warm Lambda loads each model once.
"""

from __future__ import annotations

import hashlib
import json
import platform
import threading
from datetime import datetime, timezone
from pathlib import Path

import numpy
import scipy
import sklearn
import skops
import skops.io as sio

from .bgnbd import BGNBD
from .model import MODEL_FEATURES, PredictiveModel

FORMAT = 1
DEFAULT_DIR = Path(__file__).resolve().parent / "artifacts"
TRUSTED_TYPES = [
    "sklearn.pipeline.Pipeline",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.linear_model._glm.glm.PoissonRegressor",
    "sklearn._loss.link.IdentityLink",
    "sklearn._loss.link.LogLink",
    "sklearn._loss.loss.HalfPoissonLoss",
    "sklearn._loss.loss.HalfBinomialLoss",
    "sklearn.linear_model._glm._newton_solver.NewtonCholeskySolver",
]


class ArtifactError(Exception):
    """The artifact is missing, corrupt, or holds types we do not trust."""


def library_versions() -> dict:
    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "skops": skops.__version__,
    }


def to_bytes(model: PredictiveModel) -> tuple[bytes, dict]:
    blob = sio.dumps({"conversion": model.conversion, "clv": model.clv})
    metadata = {
        "format": FORMAT,
        **model.metadata,
        "conversion_horizon_days": model.conversion_horizon,
        "clv_horizon_days": model.clv_horizon,
        "conversion_label_days": model.conversion_label_days,
        "clv_label_days": model.clv_label_days,
        "bgnbd": {"r": model.bg.r, "alpha": model.bg.alpha, "a": model.bg.a, "b": model.bg.b},
        **({"prior": model.prior} if model.prior else {}),
        **({"conversion_blend": model.conversion_blend} if model.conversion_blend else {}),
        **({"spend_blend": model.spend_blend} if model.spend_blend else {}),
        "money_scale": model.money_scale,
        "features": list(MODEL_FEATURES),
        "libraries": library_versions(),
        "sha256": hashlib.sha256(blob).hexdigest(),
    }
    metadata.setdefault("trained_at", datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
    metadata.setdefault("version", f"m{metadata['sha256'][:12]}")
    model.metadata = metadata
    return blob, metadata


def from_bytes(blob: bytes, metadata: dict) -> PredictiveModel:
    if metadata.get("format") != FORMAT:
        raise ArtifactError(f"unknown artifact format {metadata.get('format')!r}")
    if hashlib.sha256(blob).hexdigest() != metadata.get("sha256"):
        raise ArtifactError("artifact does not match its metadata checksum")
    try:
        untrusted = [t for t in sio.get_untrusted_types(data=blob) if t not in TRUSTED_TYPES]
        if untrusted:
            raise ArtifactError(f"artifact holds untrusted types: {untrusted[:5]}")
        pipelines = sio.loads(blob, trusted=TRUSTED_TYPES)
    except ArtifactError:
        raise
    except Exception as exc:  # corrupt zip, wrong schema, ...
        raise ArtifactError(f"artifact cannot be read: {exc}") from None
    if metadata.get("features") != list(MODEL_FEATURES):
        raise ArtifactError("artifact was trained on other features than this code builds")
    bg = BGNBD(**metadata["bgnbd"])
    return PredictiveModel(
        pipelines["conversion"],
        pipelines["clv"],
        bg,
        metadata["conversion_horizon_days"],
        metadata["clv_horizon_days"],
        metadata["conversion_label_days"],
        metadata["clv_label_days"],
        metadata,
        metadata.get("prior"),
        metadata.get("conversion_blend"),
        float(metadata.get("money_scale", 1.0)),
        metadata.get("spend_blend"),
    )


def save(model: PredictiveModel, directory: Path, name: str) -> dict:
    blob, metadata = to_bytes(model)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{name}.skops").write_bytes(blob)
    (directory / f"{name}.json").write_text(json.dumps(metadata, indent=2, sort_keys=True) + "\n")
    return metadata


def load(directory: Path, name: str) -> PredictiveModel:
    try:
        blob = (directory / f"{name}.skops").read_bytes()
        metadata = json.loads((directory / f"{name}.json").read_text())
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"artifact {name} cannot be read: {exc}") from None
    return from_bytes(blob, metadata)


_cache: dict[str, PredictiveModel] = {}
_lock = threading.Lock()


def default_model() -> PredictiveModel:
    """The packaged default model, loaded once per process (cold start)."""
    with _lock:
        if "default" not in _cache:
            _cache["default"] = load(DEFAULT_DIR, "default")
        return _cache["default"]


def cached(version: str, loader) -> PredictiveModel:
    with _lock:
        if version not in _cache:
            _cache[version] = loader()
        return _cache[version]


__all__ = [
    "ArtifactError",
    "TRUSTED_TYPES",
    "default_model",
    "from_bytes",
    "load",
    "save",
    "to_bytes",
]
