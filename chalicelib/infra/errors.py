"""Domain errors. Raised anywhere in chalicelib, mapped to HTTP once, in chalicelib.api.http."""

from __future__ import annotations


class ServiceError(Exception):
    """Base of every error a client can cause; carries the HTTP status it maps to."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, path: str = "", code: str | None = None):
        super().__init__(message)
        self.message = message
        self.path = path
        if code:
            self.code = code

    def to_dict(self) -> dict:
        body = {"code": self.code, "message": self.message}
        if self.path:
            body["path"] = self.path
        return {"error": body}


class ValidationError(ServiceError):
    status = 400
    code = "invalid"


class Unauthorized(ServiceError):
    status = 401
    code = "unauthorized"


class Forbidden(ServiceError):
    status = 403
    code = "forbidden"


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class PayloadTooLarge(ServiceError):
    status = 413
    code = "payload_too_large"


class Gone(ServiceError):
    status = 410
    code = "gone"


class NotReady(ServiceError):
    """The answer needs a snapshot that is being made (a compaction of a long change log, or a
    large project's first snapshot): retry after `retry_after` seconds (503, Retry-After)."""

    status = 503
    code = "snapshot_pending"

    def __init__(self, message: str, retry_after: int, progress: dict):
        super().__init__(message)
        self.retry_after, self.progress = retry_after, progress

    def to_dict(self) -> dict:
        body = super().to_dict()
        body["error"].update(retry_after_seconds=self.retry_after, progress=self.progress)
        return body
