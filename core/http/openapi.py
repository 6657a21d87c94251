"""OpenAPI details Litestar cannot infer: routes that answer JSON or, with ``stream: true``, SSE."""

from dataclasses import dataclass

from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, Schema


def event_stream_operation(model: type) -> type[Operation]:
    """An Operation class whose 200 response also documents ``text/event-stream``."""

    @dataclass
    class EventStreamOperation(Operation):
        def __post_init__(self) -> None:
            ok = (self.responses or {}).get("200")
            if ok is not None and getattr(ok, "content", None) is not None:
                ok.content["text/event-stream"] = OpenAPIMediaType(
                    schema=Schema(
                        type=OpenAPIType.STRING,
                        description=f"with stream: true, server-sent events: `data: <{model.__name__} chunk JSON>` frames, then `data: [DONE]`",
                    )
                )

    return EventStreamOperation


def forge_events_operation() -> type[Operation]:
    """An Operation class whose 200 response is only ``text/event-stream`` (the forge's events)."""

    @dataclass
    class ForgeEventsOperation(Operation):
        def __post_init__(self) -> None:
            ok = (self.responses or {}).get("200")
            if ok is not None:
                ok.description = "server-sent events: `data: <forge event JSON>` frames, each with a `type` field"
                ok.content = {"text/event-stream": OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING))}

    return ForgeEventsOperation
