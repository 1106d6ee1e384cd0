"""Repository of projects and their API keys. Keys are stored as SHA-256 hashes only."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from ..infra.errors import Conflict, NotFound, ValidationError
from ..validation import now_iso
from .connection import bind
from .records import ApiKeyRecord, ProjectRecord
from .tables import ApiKeyModel, ProjectModel


def _project(model: ProjectModel) -> ProjectRecord:
    return ProjectRecord(model.project_id, model.name, model.created_at, model.model_version)


# Request limits of a key unless set for it (`cli set-key-limits`): requests per second, and
# how many may come at once after a quiet moment. API Gateway's usage plan uses the same.
DEFAULT_RATE_LIMIT = 200.0
DEFAULT_BURST = 400
MAX_RATE_LIMIT, MAX_BURST = 10_000.0, 5_000  # API Gateway's default account limits


def _key(model: ApiKeyModel) -> ApiKeyRecord:
    return ApiKeyRecord(
        model.key_hash,
        model.key_id,
        model.project_id,
        model.created_at,
        bool(model.revoked),
        float(model.rate_limit) if model.rate_limit is not None else DEFAULT_RATE_LIMIT,
        int(model.burst) if model.burst is not None else DEFAULT_BURST,
    )


def check_limits(rate_limit: float | None, burst: int | None) -> None:
    if rate_limit is not None and not 0 < rate_limit <= MAX_RATE_LIMIT:
        raise ValidationError(
            f"the rate is more than 0 and at most {MAX_RATE_LIMIT:g} requests per second",
            "/rate_limit",
            "invalid_value",
        )
    if burst is not None and not 1 <= burst <= MAX_BURST:
        raise ValidationError(f"the burst is 1 to {MAX_BURST} requests", "/burst", "invalid_value")


def hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode("utf-8", "surrogatepass")).hexdigest()


def create_project(project_id: str, name: str = "") -> ProjectRecord:
    bind()
    project = ProjectModel(project_id, name=name or project_id, created_at=now_iso())
    try:
        project.save(condition=ProjectModel.project_id.does_not_exist())
    except Exception as exc:  # PutError: the condition failed
        if getattr(exc, "cause_response_code", "") == "ConditionalCheckFailedException":
            raise Conflict(f"project {project_id!r} exists", "/project_id", "exists") from None
        raise
    return _project(project)


def get_project(project_id: str) -> ProjectRecord | None:
    bind()
    try:
        return _project(ProjectModel.get(project_id))
    except ProjectModel.DoesNotExist:
        return None


def list_projects() -> list[ProjectRecord]:
    bind()
    return [_project(p) for p in ProjectModel.scan()]  # admin only: the projects table is small


def create_key(
    project_id: str, rate_limit: float | None = None, burst: int | None = None
) -> tuple[str, ApiKeyRecord]:
    """A new key for a project; the plain key is returned once and never stored. Without
    limits it has the defaults (DEFAULT_RATE_LIMIT, DEFAULT_BURST)."""
    check_limits(rate_limit, burst)
    if get_project(project_id) is None:
        raise NotFound(f"project {project_id!r} does not exist", "/project_id")
    api_key = "sk_" + secrets.token_urlsafe(32)
    record = ApiKeyModel(
        hash_key(api_key),
        key_id="key_" + secrets.token_hex(6),
        project_id=project_id,
        created_at=now_iso(),
        revoked=False,
        rate_limit=rate_limit,
        burst=burst,
    )
    record.save()
    return api_key, _key(record)


def live_key(api_key: str) -> ApiKeyRecord | None:
    """The record of a live key (its project, its limits), or None for an unknown or revoked
    key."""
    bind()
    digest = hash_key(api_key)
    try:
        record = ApiKeyModel.get(digest, consistent_read=True)
    except ApiKeyModel.DoesNotExist:
        return None
    if record.revoked or not hmac.compare_digest(record.key_hash, digest):
        return None
    return _key(record)


def project_of_key(api_key: str) -> str | None:
    """The project a live key belongs to, or None for an unknown or revoked key."""
    record = live_key(api_key)
    return record.project_id if record else None


def set_key_limits(
    key_id: str, rate_limit: float | None = None, burst: int | None = None
) -> ApiKeyRecord | None:
    """Change a key's request limits (None leaves one as it is); None if there is no such key."""
    check_limits(rate_limit, burst)
    bind()
    for record in ApiKeyModel.scan(ApiKeyModel.key_id == key_id):  # admin only, small table
        actions = []
        if rate_limit is not None:
            actions.append(ApiKeyModel.rate_limit.set(rate_limit))
        if burst is not None:
            actions.append(ApiKeyModel.burst.set(burst))
        if actions:
            record.update(actions=actions)
        return _key(record)
    return None


def revoke_key(key_id: str) -> bool:
    bind()
    for record in ApiKeyModel.scan(ApiKeyModel.key_id == key_id):  # admin only, small table
        record.update(actions=[ApiKeyModel.revoked.set(True)])
        return True
    return False


def list_keys(project_id: str) -> list[ApiKeyRecord]:
    bind()
    return [_key(k) for k in ApiKeyModel.scan(ApiKeyModel.project_id == project_id)]


def rotate_key(project_id: str, key_id: str) -> tuple[str, ApiKeyRecord]:
    """A new key for the project, then the old one revoked (in that order, so the project is
    never without a working key); the old key must belong to the project."""
    if not any(k.key_id == key_id and not k.revoked for k in list_keys(project_id)):
        raise NotFound(f"no live key {key_id!r} in project {project_id!r}", "/key_id")
    api_key, record = create_key(project_id)
    revoke_key(key_id)
    return api_key, record


def control_percent(project_id: str) -> float:
    """The project-wide control group's percentage (0: none). Uplift's field."""
    bind()
    try:
        project = ProjectModel.get(project_id, attributes_to_get=["control_percent"])
    except ProjectModel.DoesNotExist:
        return 0
    value = project.control_percent or 0
    return int(value) if float(value).is_integer() else float(value)


def set_control_percent(project_id: str, percent: float) -> None:
    """Set the project-wide control group's percentage (the project must exist)."""
    bind()
    try:
        ProjectModel(project_id).update(
            actions=[ProjectModel.control_percent.set(percent)],
            condition=ProjectModel.project_id.exists(),
        )
    except Exception as exc:  # UpdateError: the condition failed
        if getattr(exc, "cause_response_code", "") == "ConditionalCheckFailedException":
            raise NotFound(f"project {project_id!r} does not exist", "/project_id") from None
        raise


def get_settings(project_id: str) -> tuple[str | None, list[str]]:
    """The project's time zone (None: UTC) and declared event properties."""
    bind()
    try:
        project = ProjectModel.get(project_id)
    except ProjectModel.DoesNotExist:
        return None, []
    return project.time_zone, list(project.event_properties or [])


def set_settings(project_id: str, time_zone: str | None, event_properties: list[str]) -> None:
    """Store the project's settings for event conditions (the project must exist)."""
    bind()
    try:
        ProjectModel(project_id).update(
            actions=[
                ProjectModel.time_zone.set(time_zone)
                if time_zone
                else ProjectModel.time_zone.remove(),
                ProjectModel.event_properties.set(event_properties)
                if event_properties
                else ProjectModel.event_properties.remove(),
            ],
            condition=ProjectModel.project_id.exists(),
        )
    except Exception as exc:  # UpdateError: the condition failed
        if getattr(exc, "cause_response_code", "") == "ConditionalCheckFailedException":
            raise NotFound(f"project {project_id!r} does not exist", "/project_id") from None
        raise
