"""What every route shares: authentication, strict JSON bodies, and the one place where domain
errors become HTTP responses."""

from __future__ import annotations

import functools
import logging
import re
import uuid

from chalice import Blueprint, Response

from ..infra import observability
from ..infra.errors import Forbidden, ServiceError, Unauthorized
from ..storage import project_table
from ..storage.connection import bind
from ..validation import parse_json_body
from . import rate_limits
from .rate_limits import RateLimited

log = logging.getLogger(__name__)


THROTTLING_CODES = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "SlowDown",
    "Throttling",
    "ServiceUnavailable",
    "InternalServerError",
}


def is_throttling(exc: BaseException | None) -> bool:
    """Whether a storage call failed for throttling or a transient AWS error (after botocore's
    retries), looking through PynamoDB's wrapping and exception chains."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        code = (
            getattr(exc, "response", {}).get("Error", {}).get("Code")
            if isinstance(getattr(exc, "response", None), dict)
            else None
        )
        if (
            code in THROTTLING_CODES
            or getattr(exc, "cause_response_code", None) in THROTTLING_CODES
        ):
            return True
        exc = getattr(exc, "cause", None) or exc.__cause__ or exc.__context__
    return False


def json_response(body, status: int = 200) -> Response:
    return Response(body=body, status_code=status, headers={"Content-Type": "application/json"})


def error_response(error: ServiceError) -> Response:
    response = json_response(error.to_dict(), error.status)
    if getattr(error, "retry_after", None):  # infra.errors.NotReady
        response.headers["Retry-After"] = str(error.retry_after)
    return response


# Registered by app.py: what every handler shares, whatever invokes it.
edge = Blueprint(__name__)


@edge.middleware("all")
def bind_storage(event, get_response):
    """Every handler (route, schedule, queue, stream) finds the models bound to the configured
    tables and endpoint before its first call, whichever storage function that call is."""
    bind()
    return get_response(event)


@edge.middleware("http")
def uniform_errors(request, get_response):
    """chalice's own answers (405 unsupported method, 415 unsupported media type, 400 for a
    binary answer, 500 for an uncaught exception) in the shape of every other error."""
    response = get_response(request)
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and set(body) == {"Code", "Message"}:
        if response.status_code >= 500:
            error = {"code": "internal", "message": "internal error"}  # no detail leaks
        else:
            code = re.sub(r"(?<!^)(?=[A-Z])", "_", body["Code"]).lower()
            error = {"code": code.removesuffix("_error"), "message": str(body["Message"])}
        response.body = {"error": error}
        response.headers = {**response.headers, "Content-Type": "application/json"}
    return response


def authorize(blueprint: Blueprint, project_id: str) -> None:
    """401 without a live key; 429 for a key over its request limits; 403 for a key of another
    project."""
    api_key = blueprint.current_request.headers.get("x-api-key")
    if not api_key or len(api_key) > 200:
        raise Unauthorized("missing or invalid x-api-key header")
    key = project_table.live_key(api_key)
    if key is None:
        raise Unauthorized("missing or invalid x-api-key header")
    # every request of a live key counts against its limits, whichever project it asks for
    rate_limits.limiter.check(key.key_hash, key.rate_limit, key.burst)
    if key.project_id != project_id:
        raise Forbidden("this key does not give access to this project")


def body(blueprint: Blueprint):
    return parse_json_body(blueprint.current_request.raw_body)


def query_param(blueprint: Blueprint, name: str) -> str | None:
    params = blueprint.current_request.query_params or {}
    return params.get(name)


def project_route(blueprint: Blueprint, path: str, **options):
    """A route under /projects/{project_id}: authorised, with domain errors mapped to HTTP."""

    def decorator(view):
        @functools.wraps(view)
        def wrapped(project_id: str, **params):
            request_id = (blueprint.current_request.context or {}).get(
                "requestId"
            ) or uuid.uuid4().hex[:16]
            with observability.context(request_id=request_id, project_id=project_id[:64]):
                response = _answer(view, project_id, params)
            response.headers["X-Request-Id"] = request_id
            return response

        def _answer(view, project_id: str, params: dict) -> Response:
            try:
                authorize(blueprint, project_id)
                return view(project_id, **params)
            except RateLimited as error:
                response = error_response(error)
                response.headers["Retry-After"] = str(error.retry_after)
                return response
            except ServiceError as error:
                return error_response(error)
            except Exception as exc:  # never leak a stack trace; log it for the operator
                if is_throttling(exc):  # retried with backoff already: the client tries later
                    log.warning("throttled on %s after retries: %s", path, exc)
                    return Response(
                        body={
                            "error": {
                                "code": "unavailable",
                                "message": "the service is busy; retry in a moment",
                            }
                        },
                        status_code=503,
                        headers={"Content-Type": "application/json", "Retry-After": "1"},
                    )
                log.exception("unhandled error on %s", path)
                return json_response(
                    {"error": {"code": "internal", "message": "internal error"}}, 500
                )

        return blueprint.route("/projects/{project_id}" + path, **options)(wrapped)

    return decorator
