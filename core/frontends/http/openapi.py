"""OpenAPI details Litestar cannot infer: routes that answer with server-sent events.

As OpenAPI 3.1 tools read it (and 3.2's ``itemSchema``), the schema of a
``text/event-stream`` response describes one event: its ``data`` field.
"""

from dataclasses import dataclass

from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, Schema


def _event(description: str) -> OpenAPIMediaType:
    data = Schema(type=OpenAPIType.STRING, description=description)
    return OpenAPIMediaType(schema=Schema(type=OpenAPIType.OBJECT, properties={"data": data}, required=["data"]))


def event_stream_operation(model: type) -> type[Operation]:
    """An Operation class whose 200 response is JSON, or with ``stream: true`` server-sent events."""

    @dataclass
    class EventStreamOperation(Operation):
        def __post_init__(self) -> None:
            ok = (self.responses or {}).get("200")
            if ok is not None and getattr(ok, "content", None) is not None:
                ok.content["text/event-stream"] = _event(f"a {model.__name__} chunk as JSON, or [DONE] at the end")

    return EventStreamOperation


def forge_events_operation() -> type[Operation]:
    """An Operation class whose 200 response is the forge's events as server-sent events."""

    @dataclass
    class ForgeEventsOperation(Operation):
        def __post_init__(self) -> None:
            ok = (self.responses or {}).get("200")
            if ok is not None:
                ok.description = "server-sent events, one forge event each"
                ok.content = {"text/event-stream": _event("a forge event as JSON, with a `type` field (started, token, saved, error, ...)")}

    return ForgeEventsOperation
