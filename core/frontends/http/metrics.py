"""``GET /metrics``: the engine's state in Prometheus' text format."""

from litestar import Response, get
from litestar.datastructures import State

from .errors import RESPONSES

PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"

# (metric, EngineMetrics field, type, help)
GAUGES = [
    (
        "toolsmith_generation_tokens_per_second",
        "generation_tokens_per_s",
        "gauge",
        "Tokens generated per second over the last few seconds.",
    ),
    ("toolsmith_prompt_tokens_per_second", "prompt_tokens_per_s", "gauge", "Prompt tokens processed per second over the last few seconds."),
    ("toolsmith_requests_waiting", "num_waiting", "gauge", "Requests queued, not yet running."),
    ("toolsmith_requests_running", "num_running", "gauge", "Requests being generated."),
    ("toolsmith_kv_blocks_total", "kv_blocks_total", "gauge", "KV cache blocks."),
    ("toolsmith_kv_blocks_used", "kv_blocks_used", "gauge", "KV cache blocks held by requests."),
    ("toolsmith_kv_blocks_free", "kv_blocks_free", "gauge", "KV cache blocks free (cached ones included)."),
    ("toolsmith_kv_blocks_cached", "kv_blocks_cached", "gauge", "Free KV blocks holding reusable prefixes."),
    ("toolsmith_prefix_cache_hit_rate", "prefix_cache_hit_rate", "gauge", "Share of prompt tokens found in the prefix cache."),
    ("toolsmith_preemptions_total", "num_preemptions", "counter", "Requests preempted for lack of KV blocks."),
    ("toolsmith_generation_tokens_total", "total_generated_tokens", "counter", "Tokens generated since start."),
]


def render(metrics, loaded: bool) -> str:
    lines = [
        "# HELP toolsmith_model_loaded 1 once the model is loaded.",
        "# TYPE toolsmith_model_loaded gauge",
        f"toolsmith_model_loaded {int(loaded)}",
    ]
    if metrics is not None:
        for name, field, kind, text in GAUGES:
            lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}", f"{name} {_number(getattr(metrics, field))}"]
    return "\n".join(lines) + "\n"


def _number(value: float) -> str:
    return str(value) if isinstance(value, int) else repr(float(value))


@get("/metrics", responses=RESPONSES, summary="Engine metrics (Prometheus text format)", tags=["Server"], media_type=PROMETHEUS_TEXT)
async def metrics(state: State) -> Response[str]:
    engine = state.slot.engine
    text = render(engine.metrics() if engine is not None else None, engine is not None)
    return Response(text, media_type=PROMETHEUS_TEXT)
