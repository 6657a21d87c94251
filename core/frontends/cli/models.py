"""`toolsmith models add|list|use|rm|pull|quantize`: the local models the forge can use."""

import sys
from pathlib import Path

import click
import msgspec
from rich.table import Table

from ...tools import model_registry as models_module
from .output import console, emit_json, json_option, progress_bar


@click.group()
def models() -> None:
    """Manage local models (Hugging Face-style folders: safetensors fp16/bf16/fp32 or EXL2; GGUF files)."""


@models.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--name", help="Register under this name (default: the folder's name).")
@json_option
def add(path: Path, name: str | None, as_json: bool) -> None:
    """Register a model folder or .gguf file, once the engine's reader says it can load it."""
    entry = models_module.add(path, name)
    if as_json:
        emit_json(msgspec.to_builtins(entry))
    else:
        click.echo(f"added {entry.name}: {entry.family} ({entry.architecture}), {entry.format}, {entry.path}")


@models.command("list")
@json_option
def list_models(as_json: bool) -> None:
    """List registered models; the default one is marked."""
    registry = models_module.load_registry()
    rows = [{**msgspec.to_builtins(e), "default": e.name == registry.default} for e in registry.models.values()]
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("no models yet: `toolsmith models add PATH` (recipes still work without one)")
        return
    table = Table("", "name", "family", "format", "size", "context", "path")
    for row in rows:
        context = f"{row['context_length']:,}" if row["context_length"] else "?"
        size = _size(row["size_bytes"]) if row["size_bytes"] else "?"
        family = row["family"] or row["architecture"]
        table.add_row("*" if row["default"] else "", row["name"], family, row["format"], size, context, row["path"])
    console().print(table)


def _size(n: float) -> str:
    if n < 1000:
        return f"{n:.0f} B"
    for unit in ("KB", "MB"):
        n /= 1000
        if n < 1000:
            return f"{n:.1f} {unit}"
    return f"{n / 1000:.1f} GB"


@models.command()
@click.argument("name")
def use(name: str) -> None:
    """Make NAME the default model."""
    models_module.use(name)
    click.echo(f"using {name}")


@models.command()
@click.argument("name")
def rm(name: str) -> None:
    """Forget a model (its files are left alone)."""
    entry = models_module.remove(name)
    click.echo(f"removed {entry.name} from the registry; its files remain in {entry.path}")


@models.command()
@click.argument("repo")
@click.option("--revision", help="Branch, tag or commit.")
def pull(repo: str, revision: str | None) -> None:
    """Download one model from the Hugging Face Hub and register it (needs network).

    REPO is OWNER/NAME (that revision's safetensors), OWNER/NAME:4.0bpw (an EXL2 branch)
    or OWNER/NAME:Q4_K_M (one GGUF file). The architecture is checked before the weights
    come (a GGUF file's once it is down); downloads resume.
    """
    entry = models_module.pull(repo, revision, tqdm_class=_rich_tqdm() if sys.stderr.isatty() else None)
    click.echo(f"pulled {repo} into {entry.path}")


def _rich_tqdm():
    """tqdm's rich front end (drawn with rich, like Toolsmith's other bars), its 'experimental' warning muted."""
    import warnings

    try:
        from tqdm import TqdmExperimentalWarning
        from tqdm.rich import tqdm_rich
    except ImportError:  # no huggingface_hub (and so no tqdm): pull says how to install it
        return None

    warnings.filterwarnings("ignore", category=TqdmExperimentalWarning)
    return tqdm_rich


@models.command()
@click.argument("src", type=click.Path(path_type=Path))
@click.argument("dst", type=click.Path(path_type=Path))
@click.option("--bits", type=float, default=4.0, show_default=True, help="Average bits per weight of the layers (2-8).")
@click.option("--head-bits", type=int, default=6, show_default=True, help="Bits of the output head: 2, 3, 4, 5, 6 or 8.")
@json_option
def quantize(src: Path, dst: Path, bits: float, head_bits: int, as_json: bool) -> None:
    """Write an EXL2 copy of the fp16/bf16/fp32 model folder SRC into the new folder DST.

    Round-to-nearest, no calibration data; the result runs on the native engine
    (any device) and on exllamav2 (CUDA).
    """
    from ...engine.exl2_writer import quantize_model  # imports torch: only when asked

    with progress_bar(f"quantizing {src.name}", shown=not as_json) as progress:
        summary = quantize_model(src, dst, bits=bits, head_bits=head_bits, progress=progress)
    if as_json:
        emit_json(summary)
    else:
        click.echo(
            f"wrote {summary['folder']}: {summary['layers']} layers at {summary['bits_per_weight']:.2f} bits per weight "
            f"(head {summary['head_bits_per_weight']:.2f}) in {summary['seconds']:.1f} s"
        )
