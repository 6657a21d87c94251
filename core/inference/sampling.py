"""Per-request sampling parameters, with the same meaning and ranges as vLLM/OpenAI."""

from __future__ import annotations

import math

import msgspec

from toolsmith.core.base.errors import ToolsmithError

MAX_LOGPROBS = 20
# Below this temperature sampling is numerically indistinguishable from argmax, so it
# is treated as greedy (vLLM uses the same threshold).
GREEDY_TEMPERATURE = 1e-5
_SEED_RANGE = (-(2**63), 2**64 - 1)  # what torch.Generator.manual_seed accepts


class SamplingError(ToolsmithError):
    """A sampling parameter is out of range; the message names the field and the allowed range."""


class Constraint(msgspec.Struct, frozen=True, kw_only=True):
    """What a reply must match, enforced token by token: a JSON schema, any JSON object, or a Lark grammar.

    ``lark`` is llguidance's Lark dialect (it may embed ``%json{...}`` schemas), which is
    how tool calls and the forge's reply format are written.
    """

    json_schema: dict | None = None
    json_object: bool = False
    lark: str | None = None
    source: str = "constraint"  # the request parameter it comes from, for error messages

    def validate(self) -> None:
        given = [self.json_schema is not None, self.json_object, self.lark is not None]
        if sum(given) != 1:
            raise SamplingError("constraint must set exactly one of json_schema, json_object and lark")


class SamplingParams(msgspec.Struct, kw_only=True):
    n: int = 1
    temperature: float = 1.0  # 0 => greedy
    top_k: int = 0  # 0 => disabled
    top_p: float = 1.0
    min_p: float = 0.0
    repetition_penalty: float = 1.0
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    seed: int | None = None
    max_tokens: int = 16
    min_tokens: int = 0
    stop: list[str] = []
    stop_token_ids: list[int] = []
    ignore_eos: bool = False
    logprobs: int | None = None  # None: no logprobs; k >= 0: the chosen token's logprob plus the k most likely
    skip_special_tokens: bool = True
    logit_bias: dict[int, float] = {}  # token id -> added to its logit (OpenAI's -100..100)
    constraint: Constraint | None = None  # grammar-constrained decoding (native engine)

    @property
    def greedy(self) -> bool:
        return self.temperature < GREEDY_TEMPERATURE

    @property
    def uses_penalties(self) -> bool:
        return self.repetition_penalty != 1.0 or self.presence_penalty != 0.0 or self.frequency_penalty != 0.0

    def validate(self) -> None:
        """Raise SamplingError for the first field outside its allowed range."""
        _integer("n", self.n, low=1)
        _number("temperature", self.temperature, low=0.0)
        _integer("top_k", self.top_k, low=0, hint="0 disables top-k")
        _number("top_p", self.top_p, low=0.0, high=1.0, low_open=True)
        _number("min_p", self.min_p, low=0.0, high=1.0)
        _number("repetition_penalty", self.repetition_penalty, low=0.0, low_open=True, hint="1 disables it")
        _number("presence_penalty", self.presence_penalty, low=-2.0, high=2.0)
        _number("frequency_penalty", self.frequency_penalty, low=-2.0, high=2.0)
        if self.seed is not None:
            _integer("seed", self.seed, low=_SEED_RANGE[0], high=_SEED_RANGE[1])
        _integer("max_tokens", self.max_tokens, low=1)
        _integer("min_tokens", self.min_tokens, low=0, high=self.max_tokens, hint="it may not exceed max_tokens")
        if not isinstance(self.stop, list) or not all(isinstance(s, str) and s for s in self.stop):
            raise SamplingError(f"stop must be a list of non-empty strings, got {self.stop!r}")
        ids = self.stop_token_ids
        if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in ids):
            raise SamplingError(f"stop_token_ids must be a list of token ids >= 0, got {ids!r}")
        if self.logprobs is not None:
            _integer("logprobs", self.logprobs, low=0, high=MAX_LOGPROBS)
        bias = self.logit_bias
        if not isinstance(bias, dict) or not all(
            isinstance(t, int) and not isinstance(t, bool) and t >= 0 and isinstance(v, (int, float)) and -100 <= v <= 100
            for t, v in bias.items()
        ):
            raise SamplingError("logit_bias must map token ids >= 0 to numbers between -100 and 100")
        if self.constraint is not None:
            self.constraint.validate()
            if self.min_tokens:
                raise SamplingError("min_tokens cannot be combined with a constraint: the grammar decides where the reply ends")
        for name in ("ignore_eos", "skip_special_tokens"):
            if not isinstance(getattr(self, name), bool):
                raise SamplingError(f"{name} must be true or false, got {getattr(self, name)!r}")


def _integer(name: str, value: object, *, low: int, high: int | None = None, hint: str = "") -> None:
    allowed = f">= {low}" if high is None else f"between {low} and {high}"
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        raise SamplingError(f"{name} must be an integer {allowed}{_hint(hint)}, got {value!r}")


def _number(
    name: str, value: object, *, low: float, high: float | None = None, low_open: bool = False, hint: str = ""
) -> None:
    bracket = "(" if low_open else "["
    allowed = f"> {low}" if low_open else f">= {low}"
    if high is not None:
        allowed = f"in {bracket}{low}, {high}]"
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (value > low if low_open else value >= low) and (high is None or value <= high)
    if not ok:
        raise SamplingError(f"{name} must be a finite number {allowed}{_hint(hint)}, got {value!r}")


def _hint(hint: str) -> str:
    return f" ({hint})" if hint else ""
