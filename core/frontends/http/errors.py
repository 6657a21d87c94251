"""One error format for every route: OpenAI's ``{"error": {"message", "type", "param", "code"}}``.

OpenAI clients (and editors built on them) show ``error.message`` to the user, so
every failure, ours or Litestar's, is reshaped into it with the right status code.
"""

import logging
import re

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec

from toolsmith.sandbox.errors import SandboxError

from ...base.errors import ToolsmithError
from ...inference.errors import EngineDeadError

log = logging.getLogger("toolsmith.http")

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    409: "conflict_error",
    413: "invalid_request_error",
    500: "internal_error",
    503: "unavailable_error",
}


# OpenAI fields this server does not have, and what to send instead; any other unknown field is refused too.
UNSUPPORTED = {
    "functions": "send tools instead (functions is the deprecated form)",
    "function_call": "send tool_choice instead (function_call is the deprecated form)",
    "modalities": "this server answers with text only",
    "audio": "this server answers with text only",
    "reasoning_effort": "this model has no reasoning setting",
    "verbosity": "this model has no verbosity setting",
    "prediction": "predicted outputs are not supported",
    "web_search_options": "this server cannot search the web",
    "store": "this server stores no completions",
    "metadata": "this server stores no completions, so it keeps no metadata",
    "service_tier": "this server has one tier",
    "guided_json": "send response_format with type json_schema instead",
    "guided_grammar": "send response_format instead",
}
_UNKNOWN = re.compile(r"Object contains unknown field `([^`]+)`")


class ErrorInfo(msgspec.Struct):
    message: str
    type: str
    param: str | None = None
    code: int | str | None = None  # the status, or OpenAI's code word (model_not_found)


class ErrorBody(msgspec.Struct):
    error: ErrorInfo


class ApiError(HTTPException):
    """An error with a status code and, for bad input, the name of the offending field."""

    def __init__(self, status_code: int, message: str, param: str | None = None, code: str | None = None):
        super().__init__(detail=message, status_code=status_code)
        self.param = param
        self.error_code = code


def error_body(status: int, message: str, param: str | None = None, code: str | None = None) -> ErrorBody:
    kind = "invalid_request_error" if code else ERROR_TYPES.get(status, "invalid_request_error")
    return ErrorBody(ErrorInfo(message=message, type=kind, param=param, code=code or status))


def error_response(status: int, message: str, param: str | None = None, code: str | None = None) -> Response:
    return Response(error_body(status, message, param, code), status_code=status)


def unknown_field(message: str, key: str | None) -> tuple[str, str] | None:
    """(message, param) for msgspec's "unknown field" error: refused by name, with a hint when we have one."""
    found = _UNKNOWN.match(message)
    if found is None:
        return None
    name = found.group(1)
    path = key if key and key != "data" else ""
    param = f"{path}.{name}" if path else name
    hint = UNSUPPORTED.get(name, "this server does not support it; remove it") if not path else "remove it"
    return f"unknown field {param}: {hint}", param


def handle_http_exception(request: Request, exc: HTTPException) -> Response:
    param = getattr(exc, "param", None)
    message = exc.detail
    if isinstance(exc, ValidationException) and isinstance(exc.extra, list) and exc.extra:
        first = exc.extra[0]
        param = first.get("key") or None
        message = f"{first.get('message', 'invalid value')} for {param or first.get('source', 'the request')}"
        message, param = unknown_field(first.get("message", ""), first.get("key")) or (message, param)
    return error_response(exc.status_code, message, param, getattr(exc, "error_code", None))


def handle_toolsmith_error(request: Request, exc: ToolsmithError | SandboxError) -> Response:
    """Toolsmith's own errors (and the sandbox's) are the caller's fault (bad input), except a dead engine."""
    if isinstance(exc, EngineDeadError):
        return error_response(503, str(exc))
    return error_response(400, str(exc), param_of(exc))


def handle_too_deep(request: Request, exc: RecursionError) -> Response:
    """JSON nested past the decoder's depth (a thousand `[`) is bad input, not a crash."""
    return error_response(400, "the request body is nested too deeply to decode; send JSON nested less than a few hundred levels")


def handle_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(500, f"internal error: {type(exc).__name__}: {exc}")


# request fields an engine RequestError may name first
_ENGINE_PARAMS = {"response_format", "tool_choice", "tools", "logit_bias", "suffix"}


def param_of(exc: Exception) -> str | None:
    """The field a SamplingError (or a RequestError about one) names first ("top_p must be ..." -> "top_p")."""
    from ...inference.errors import RequestError
    from ...inference.sampling import SamplingError

    first = str(exc).split(" ", 1)[0]
    if isinstance(exc, SamplingError) or (isinstance(exc, RequestError) and first in _ENGINE_PARAMS):
        return first
    return None


EXCEPTION_HANDLERS = {
    HTTPException: handle_http_exception,
    ToolsmithError: handle_toolsmith_error,
    SandboxError: handle_toolsmith_error,
    RecursionError: handle_too_deep,
    Exception: handle_unexpected,
}


# Documented on every route, so the OpenAPI schema describes what errors look like.
RESPONSES = {
    status: ResponseSpec(data_container=ErrorBody, description=description)
    for status, description in {
        400: "Bad input; `error.param` names the field",
        401: "Missing or wrong API key",
        403: "Host header is not a loopback name",
        404: "No such tool, run or route",
        409: "The run is not in a state that allows this",
        413: "Request body too large",
        503: "The model is loading, failed to load, or is not configured",
    }.items()
}
