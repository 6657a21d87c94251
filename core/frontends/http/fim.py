"""Fill-in-the-middle prompts for code models whose tokenizer has FIM tokens.

The model sees the code before and after the cursor around its own marker tokens
(prefix, suffix, middle: the PSM order all four families were trained on) and writes
the middle. Markers are inserted as token ids, never parsed from text, so code that
happens to contain a marker's spelling cannot steer the prompt.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ApiError


@dataclass(frozen=True)
class FimFormat:
    family: str
    prefix: tuple[str, ...]  # spellings of each marker, the first one the vocabulary has wins
    suffix: tuple[str, ...]
    middle: tuple[str, ...]
    ends: tuple[str, ...]  # tokens that end the middle
    file_sep: str | None = None  # marks other files given as context (llama.cpp's input_extra)


FORMATS = (
    FimFormat("qwen2.5-coder", ("<|fim_prefix|>",), ("<|fim_suffix|>",), ("<|fim_middle|>",), ("<|fim_pad|>", "<|endoftext|>", "<|file_sep|>", "<|repo_name|>"), "<|file_sep|>"),
    FimFormat("starcoder2", ("<fim_prefix>",), ("<fim_suffix>",), ("<fim_middle>",), ("<|endoftext|>", "<file_sep>"), "<file_sep>"),
    FimFormat("codellama", ("▁<PRE>", "<PRE>"), ("▁<SUF>", "<SUF>"), ("▁<MID>", "<MID>"), ("▁<EOT>", "<EOT>")),
    FimFormat("deepseek-coder", ("<｜fim▁begin｜>",), ("<｜fim▁hole｜>",), ("<｜fim▁end｜>",), ("<|EOT|>", "<｜end▁of▁sentence｜>")),
)


@dataclass(frozen=True)
class Fim:
    format: FimFormat
    prefix: int
    suffix: int
    middle: int
    ends: list[int]
    file_sep: int | None


def fim_of(tokenizer) -> Fim | None:
    """The FIM markers of this tokenizer, or None when it has none (or cannot say: a remote tokenizer)."""
    lookup = getattr(tokenizer, "token_to_id", None)
    if lookup is None:
        return None

    def first(spellings: tuple[str, ...]) -> int | None:
        return next((i for s in spellings if (i := lookup(s)) is not None), None)

    for fmt in FORMATS:
        ids = first(fmt.prefix), first(fmt.suffix), first(fmt.middle)
        if None not in ids:
            ends = [i for s in fmt.ends if (i := lookup(s)) is not None]
            return Fim(fmt, *ids, ends, lookup(fmt.file_sep) if fmt.file_sep else None)
    return None


def require_fim(tokenizer, model: str, param: str) -> Fim:
    fim = fim_of(tokenizer)
    if fim is None:
        names = ", ".join(f.family for f in FORMATS)
        raise ApiError(400, f"{param} needs a fill-in-the-middle model; {model}'s tokenizer has no FIM tokens ({names} have them)", param)
    return fim


def fim_prompt(tokenizer, fim: Fim, prefix: str, suffix: str, files: list[tuple[str, str]] = ()) -> list[int]:
    """Token ids of a PSM prompt; `files` ((name, text) pairs) come first, each after the file separator."""
    ids = tokenizer.encode("", add_special_tokens=True)  # whatever the tokenizer always starts with (BOS)
    for name, text in files:
        ids += [fim.file_sep, *tokenizer.encode(f"{name}\n{text}", add_special_tokens=False)]
    ids.append(fim.prefix)
    ids += tokenizer.encode(prefix, add_special_tokens=False)
    ids.append(fim.suffix)
    ids += tokenizer.encode(suffix, add_special_tokens=False)
    ids.append(fim.middle)
    return ids
