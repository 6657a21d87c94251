"""Offline batch generation: hand over all prompts, get all outputs back."""

from pathlib import Path

from ..inference.outputs import EngineMetrics, RequestOutput
from ..inference.sampling import SamplingParams
from .llm_engine import LLMEngine


class LLM:
    """`LLM(model_dir, dtype=..., device=..., block_size=..., kv_cache_tokens=..., max_num_seqs=...)`.

    Keyword arguments are those of `LLMEngine`.
    """

    def __init__(self, model_dir: str | Path, **engine_options):
        self.engine = LLMEngine(model_dir, **engine_options)

    @property
    def tokenizer(self):
        return self.engine.tokenizer

    def generate(
        self,
        prompts: list[str] | list[list[int]] | str,
        params: SamplingParams | list[SamplingParams] | None = None,
    ) -> list[RequestOutput]:
        """One finished output per prompt, in prompt order. Bad input raises before anything runs."""
        if isinstance(prompts, str) or (prompts and isinstance(prompts[0], int)):
            prompts = [prompts]
        params = params if params is not None else SamplingParams()
        per_prompt = params if isinstance(params, list) else [params] * len(prompts)
        if len(per_prompt) != len(prompts):
            raise ValueError(f"{len(prompts)} prompts but {len(per_prompt)} SamplingParams")
        ids = []
        try:
            for prompt, p in zip(prompts, per_prompt):
                ids.append(self.engine.add_request(prompt, p))
        except Exception:
            for request_id in ids:
                self.engine.abort_request(request_id)
            self.engine.step()
            raise
        finished: dict[str, RequestOutput] = {}
        while len(finished) < len(ids):
            for output in self.engine.step():
                if output.finished:
                    finished[output.request_id] = output
        return [finished[request_id] for request_id in ids]

    def chat(self, conversations: list[list[dict]], params: SamplingParams | None = None) -> list[RequestOutput]:
        """Render each conversation with the model's chat template, then generate."""
        prompts = [self.tokenizer.apply_chat_template(messages, add_generation_prompt=True) for messages in conversations]
        return self.generate(prompts, params)

    def metrics(self) -> EngineMetrics:
        return self.engine.metrics()
