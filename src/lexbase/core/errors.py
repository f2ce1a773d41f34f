"""One error hierarchy and one set of handlers that render the API error envelope.

Domain errors subclass `LexbaseError` beside their service; nothing below a router raises
`HTTPException`. Unexpected exceptions become `internal_error` without their text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

log = structlog.get_logger(__name__)


class LexbaseError(Exception):
    """Base of every error the API reports on purpose."""

    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    default_message: ClassVar[str] = "Bad request"

    def __init__(
        self,
        message: str | None = None,
        *,
        details: Sequence[Mapping[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        keep_changes: bool = False,
    ) -> None:
        self.message = message or self.default_message
        self.details = list(details or [])
        self.headers = dict(headers or {})
        # A refusal whose bookkeeping must persist (failed-login counters, the audit event
        # of a detected token replay): the unit of work commits before the error is answered.
        self.keep_changes = keep_changes
        super().__init__(self.message)


class ValidationFailed(LexbaseError):
    status_code = 422
    code = "validation_error"
    default_message = "Request validation failed"


class Unauthorized(LexbaseError):
    status_code = 401
    code = "unauthorized"
    default_message = "Authentication required"

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(message, **kwargs)


class Forbidden(LexbaseError):
    status_code = 403
    code = "forbidden"
    default_message = "You do not have permission to do this"


class NotFound(LexbaseError):
    status_code = 404
    code = "not_found"
    default_message = "Not found"


class MethodNotAllowed(LexbaseError):
    status_code = 405
    code = "method_not_allowed"
    default_message = "Method not allowed"


class RequestTimeout(LexbaseError):
    status_code = 408
    code = "request_timeout"
    default_message = "The request took too long to arrive"


class Conflict(LexbaseError):
    status_code = 409
    code = "conflict"
    default_message = "Conflict"


class PayloadTooLarge(LexbaseError):
    status_code = 413
    code = "payload_too_large"
    default_message = "Request body too large"


class UnsupportedMediaType(LexbaseError):
    status_code = 415
    code = "unsupported_media_type"
    default_message = "Unsupported media type"


class Locked(LexbaseError):
    status_code = 423
    code = "locked"
    default_message = "Resource is locked"


class RateLimited(LexbaseError):
    status_code = 429
    code = "rate_limited"
    default_message = "Too many requests"


class ServiceUnavailable(LexbaseError):
    status_code = 503
    code = "service_unavailable"
    default_message = "Service unavailable"


_STATUS_CODES: dict[int, type[LexbaseError]] = {
    cls.status_code: cls
    for cls in (
        Unauthorized,
        Forbidden,
        NotFound,
        MethodNotAllowed,
        RequestTimeout,
        Conflict,
        PayloadTooLarge,
        UnsupportedMediaType,
        Locked,
        RateLimited,
        ServiceUnavailable,
        ValidationFailed,
    )
}


def request_id_of(request: Request) -> str | None:
    value = getattr(request.state, "request_id", None)
    return value if isinstance(value, str) else None


def error_body(
    code: str,
    message: str,
    request_id: str | None,
    details: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": message,
            "request_id": request_id,
            "details": list(details),
        }
    }


def error_response(request: Request, error: LexbaseError) -> JSONResponse:
    return JSONResponse(
        error_body(error.code, error.message, request_id_of(request), error.details),
        status_code=error.status_code,
        headers=error.headers or None,
    )


def _validation_details(errors: Sequence[Any]) -> list[dict[str, Any]]:
    details = []
    for err in errors:
        loc = [str(part) for part in err.get("loc", ())]
        details.append({"loc": loc, "message": err.get("msg", "invalid"), "type": err.get("type")})
    return details


async def _handle_lexbase_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, LexbaseError)
    return error_response(request, exc)


async def _handle_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = _validation_details(exc.errors())
    message = "Request validation failed"
    if any(d["type"] == "json_invalid" for d in details):
        message = "Request body is not valid JSON"
    return error_response(request, ValidationFailed(message, details=details))


async def _handle_http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    error_class = _STATUS_CODES.get(exc.status_code)
    if exc.status_code == 404:
        message = "Route not found"
    elif exc.status_code == 405:
        message = f"Method {request.method} not allowed"
    elif isinstance(exc.detail, str):
        message = exc.detail
    else:
        message = error_class.default_message if error_class else "Request failed"
    code = (
        error_class.code
        if error_class
        else ("internal_error" if exc.status_code >= 500 else "bad_request")
    )
    return JSONResponse(
        error_body(code, message, request_id_of(request)),
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


# Seconds a client is told to wait when a dependency is down (a restart takes about that).
DEPENDENCY_RETRY_AFTER = 5
DEPENDENCY_DOWN_MESSAGE = "A service this request needs is not answering; retry shortly"
# PostgreSQL's codes for a server that is unreachable, shutting down or starting up, or full.
_UNAVAILABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300")


def dependency_down(exc: BaseException) -> bool:
    """Whether `exc` says a service the request needs (the database, Redis, the blob store)
    did not answer — worth retrying soon — rather than a fault in the request or the code.
    Exceptions wrapped by SQLAlchemy or chained are judged by their cause too."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, sa_exc.OperationalError | sa_exc.InterfaceError):
            return True
        if isinstance(current, sa_exc.TimeoutError):  # no pooled connection came free
            return True
        if isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
            return True
        unreachable = RedisConnectionError | RedisTimeoutError | ConnectionError | TimeoutError
        if isinstance(current, unreachable):
            return True
        sqlstate = getattr(current, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(_UNAVAILABLE_SQLSTATES):
            return True
        wrapped = current.orig if isinstance(current, sa_exc.DBAPIError) else None
        current = wrapped if isinstance(wrapped, BaseException) else current.__cause__
    return False


async def _handle_unexpected(request: Request, exc: Exception) -> JSONResponse:
    if dependency_down(exc):
        log.warning(
            "request.dependency_unavailable",
            path=request.url.path,
            error_type=type(exc).__name__,
            error=str(exc)[:300],
        )
        unavailable = ServiceUnavailable(
            DEPENDENCY_DOWN_MESSAGE,
            headers={"Retry-After": str(DEPENDENCY_RETRY_AFTER)},
        )
        return error_response(request, unavailable)
    log.exception("request.unhandled_error", path=request.url.path, error_type=type(exc).__name__)
    return JSONResponse(
        error_body("internal_error", "Internal server error", request_id_of(request)),
        status_code=500,
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(LexbaseError, _handle_lexbase_error)
    app.add_exception_handler(RequestValidationError, _handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, _handle_http_exception)
    app.add_exception_handler(Exception, _handle_unexpected)
