"""Request and response bodies of the OpenAI-compatible endpoints, as msgspec Structs.

Every request field is honoured or refused: unknown fields are a 400 naming them
(``forbid_unknown_fields``; ``errors.UNSUPPORTED`` adds what to do instead for the
OpenAI fields this server does not have). The vLLM extras Toolsmith's engine supports
(``top_k``, ``min_p``, ``repetition_penalty``, ``min_tokens``, ``ignore_eos``,
``stop_token_ids``, ``skip_special_tokens``, ``return_token_ids``) are honoured.
"""

from typing import Annotated, Literal

import msgspec

from ...inference.sampling import MAX_LOGPROBS

MAX_N = 16

Probability = Annotated[float, msgspec.Meta(ge=0, le=1)]
Penalty = Annotated[float, msgspec.Meta(ge=-2, le=2)]
PositiveInt = Annotated[int, msgspec.Meta(ge=1)]
Bias = Annotated[float, msgspec.Meta(ge=-100, le=100)]
FunctionName = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]


class Request(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A request body: a field this server does not know is refused, never ignored."""


class StreamOptions(Request, kw_only=True):
    include_usage: bool = False


class JsonSchemaSpec(Request, kw_only=True):
    name: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
    description: str | None = None
    schema: dict = {}
    strict: bool | None = None  # the schema is enforced by the grammar either way


class TextFormat(Request, tag_field="type", tag="text"):
    pass


class JsonObjectFormat(Request, tag_field="type", tag="json_object"):
    pass


class JsonSchemaFormat(Request, tag_field="type", tag="json_schema"):
    json_schema: JsonSchemaSpec


ResponseFormat = TextFormat | JsonObjectFormat | JsonSchemaFormat


class _Sampling(Request, kw_only=True):
    """Fields both endpoints share."""

    model: str | None = None  # must be the served model's id when given
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: Annotated[int, msgspec.Meta(ge=1, le=MAX_N)] = 1
    temperature: Annotated[float, msgspec.Meta(ge=0, le=2)] = 1.0
    top_p: Annotated[float, msgspec.Meta(gt=0, le=1)] = 1.0
    stop: str | list[str] | None = None
    seed: int | None = None
    presence_penalty: Penalty = 0.0
    frequency_penalty: Penalty = 0.0
    user: str | None = None  # an end-user id for the caller's own logs; nothing here depends on it
    logit_bias: dict[int, Bias] | None = None
    response_format: ResponseFormat | None = None
    # vLLM extras
    top_k: Annotated[int, msgspec.Meta(ge=0)] = 0
    min_p: Probability = 0.0
    repetition_penalty: Annotated[float, msgspec.Meta(gt=0)] = 1.0
    min_tokens: Annotated[int, msgspec.Meta(ge=0)] = 0
    ignore_eos: bool = False
    stop_token_ids: list[Annotated[int, msgspec.Meta(ge=0)]] = []
    skip_special_tokens: bool = True
    return_token_ids: bool = False


class CompletionRequest(_Sampling, kw_only=True):
    prompt: str | list[str | int]  # text, token ids, or a list holding one text
    max_tokens: PositiveInt | None = 16
    logprobs: Annotated[int, msgspec.Meta(ge=0, le=MAX_LOGPROBS)] | None = None
    echo: bool = False
    suffix: str | None = None  # fill-in-the-middle, for models whose tokenizer has FIM tokens
    best_of: Annotated[int, msgspec.Meta(ge=1, le=1)] | None = None  # only 1: send n for several answers


class InfillFile(Request, kw_only=True):
    filename: str = ""
    text: str


class InfillRequest(Request, kw_only=True):
    """llama.cpp's ``/infill``: code before and after the cursor."""

    input_prefix: str
    input_suffix: str = ""
    input_extra: list[InfillFile] = []  # other files, placed before the prefix
    cache_prompt: bool = True  # the prefix cache is always on
    prompt: str = ""  # text after the prefix, as llama.cpp appends it
    n_predict: Annotated[int, msgspec.Meta(ge=-1)] = -1
    temperature: Annotated[float, msgspec.Meta(ge=0, le=2)] = 0.8
    top_k: Annotated[int, msgspec.Meta(ge=0)] = 40
    top_p: Annotated[float, msgspec.Meta(gt=0, le=1)] = 0.95
    min_p: Probability = 0.05
    seed: int | None = None
    stop: list[str] = []
    stream: bool = False
    model: str | None = None


class InfillResponse(msgspec.Struct, kw_only=True):
    content: str
    stop: bool
    tokens_predicted: int
    tokens_evaluated: int
    model: str


class ContentPart(Request, kw_only=True):
    type: str
    text: str | None = None
    # the non-text parts, so that refusing them can say "image_url is not supported" rather than "unknown field"
    image_url: dict | None = None
    input_audio: dict | None = None
    file: dict | None = None


class FunctionCall(Request, kw_only=True):
    name: str
    arguments: str  # JSON text, as OpenAI sends it


class ToolCall(Request, kw_only=True):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class ChatMessage(Request, kw_only=True):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None  # an assistant's earlier calls
    tool_call_id: str | None = None  # a tool message: the call it answers
    refusal: None = None  # clients echo OpenAI's assistant messages back with these empty
    function_call: None = None
    audio: None = None
    annotations: None = None


class FunctionDef(Request, kw_only=True):
    name: FunctionName
    description: str | None = None
    parameters: dict | None = None
    strict: bool | None = None  # arguments follow the schema either way when a call is forced


class Tool(Request, kw_only=True):
    type: Literal["function"]
    function: FunctionDef


class NamedFunction(Request, kw_only=True):
    name: str


class NamedToolChoice(Request, kw_only=True):
    type: Literal["function"]
    function: NamedFunction


class ChatRequest(_Sampling, kw_only=True):
    messages: Annotated[list[ChatMessage], msgspec.Meta(min_length=1)]
    max_tokens: PositiveInt | None = None
    max_completion_tokens: PositiveInt | None = None
    logprobs: bool = False
    top_logprobs: Annotated[int, msgspec.Meta(ge=0, le=MAX_LOGPROBS)] | None = None
    tools: list[Tool] | None = None
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: bool = True


class Usage(msgspec.Struct, kw_only=True):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


# -- /v1/completions


class CompletionLogprobs(msgspec.Struct, kw_only=True):
    tokens: list[str]
    token_logprobs: list[float]
    top_logprobs: list[dict[str, float]]
    text_offset: list[int]


class CompletionChoice(msgspec.Struct, kw_only=True):
    index: int
    text: str
    finish_reason: str | None
    logprobs: CompletionLogprobs | None = None
    token_ids: list[int] | None = None  # with return_token_ids (the new ids, when streaming)


class Completion(msgspec.Struct, kw_only=True):
    id: str
    object: Literal["text_completion"] = "text_completion"
    created: int
    model: str
    choices: list[CompletionChoice]
    usage: Usage | None = None
    prompt_token_ids: list[int] | None = None  # with return_token_ids


# -- /v1/chat/completions


class TopLogprob(msgspec.Struct, kw_only=True):
    token: str
    logprob: float
    bytes: list[int]


class TokenLogprob(msgspec.Struct, kw_only=True):
    token: str
    logprob: float
    bytes: list[int]
    top_logprobs: list[TopLogprob]


class ChatLogprobs(msgspec.Struct, kw_only=True):
    content: list[TokenLogprob]


class ResponseFunctionCall(msgspec.Struct, kw_only=True):
    name: str
    arguments: str


class ResponseToolCall(msgspec.Struct, kw_only=True):
    id: str
    type: Literal["function"] = "function"
    function: ResponseFunctionCall


class AssistantMessage(msgspec.Struct, kw_only=True):
    role: Literal["assistant"] = "assistant"
    content: str | None
    tool_calls: list[ResponseToolCall] | None = None


class ChatChoice(msgspec.Struct, kw_only=True):
    index: int
    message: AssistantMessage
    finish_reason: str | None
    logprobs: ChatLogprobs | None = None
    token_ids: list[int] | None = None


class ChatCompletion(msgspec.Struct, kw_only=True):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[ChatChoice]
    usage: Usage
    prompt_token_ids: list[int] | None = None


class FunctionDelta(msgspec.Struct, kw_only=True, omit_defaults=True):
    name: str | None = None
    arguments: str | None = None


class ToolCallDelta(msgspec.Struct, kw_only=True, omit_defaults=True):
    index: int
    id: str | None = None
    type: Literal["function"] | None = None
    function: FunctionDelta | None = None


class Delta(msgspec.Struct, kw_only=True, omit_defaults=True):
    role: str | None = None
    content: str | None = None
    tool_calls: list[ToolCallDelta] | None = None


class ChunkChoice(msgspec.Struct, kw_only=True):
    index: int
    delta: Delta
    finish_reason: str | None
    logprobs: ChatLogprobs | None = None
    token_ids: list[int] | None = None


class ChatCompletionChunk(msgspec.Struct, kw_only=True):
    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: Usage | None = None
    prompt_token_ids: list[int] | None = None


# -- /v1/models


class Model(msgspec.Struct, kw_only=True):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "toolsmith"
    max_model_len: int | None = None


class ModelList(msgspec.Struct, kw_only=True):
    object: Literal["list"] = "list"
    data: list[Model]


# -- /tokenize, /detokenize (vLLM's shape; the remote engine's tokenizer uses them)


class TokenizeRequest(Request, kw_only=True):
    prompt: str | None = None
    messages: list[ChatMessage] | None = None
    tools: list[Tool] | None = None
    add_generation_prompt: bool = True
    add_special_tokens: bool = True
    model: str | None = None


class TokenizeResponse(msgspec.Struct, kw_only=True):
    tokens: list[int]
    count: int
    max_model_len: int | None = None


class DetokenizeRequest(Request, kw_only=True):
    model: str | None = None
    tokens: list[Annotated[int, msgspec.Meta(ge=0)]]


class DetokenizeResponse(msgspec.Struct, kw_only=True):
    prompt: str
