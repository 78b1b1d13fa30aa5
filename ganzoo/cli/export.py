"""``ganzoo export``: a trained run's generator as files others can use, with or without ganzoo."""

from __future__ import annotations

import click

#: How each format's check ran, for the line that reports it.
_CHECKED = {"pt2": "torch.export.load", "onnx": "onnxruntime", "safetensors": "rebuilt by its plugin"}


@click.command("export")
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("-o", "--output", "out", required=True, type=click.Path(file_okay=False),
              help="the folder to write: new or empty (or with --force)")
@click.option("--format", "formats", default=None, metavar="pt2,onnx,safetensors",
              help="the formats to write [default: every one the installed packages allow]")
@click.option("--force", is_flag=True, help="replace the export's files in a folder that is not empty")
@click.option("--no-ema", is_flag=True, help="export the raw generator even when the run has an EMA copy")
def export_command(run_dir: str, out: str, formats: str | None, force: bool, no_ema: bool) -> None:
    """Export a trained run's generator to share: torch.export, ONNX, safetensors and a model card.

    The programs take noise z (and a conditional generator's labels) and return samples in the data's space: images
    as pixels in [0, 1], points in data coordinates. README.md is a model card in the Hugging Face Hub's
    conventions (`huggingface-cli upload REPO DIR` publishes the folder); config.json says the same for programs."""
    from ..api import export
    from ..run.export import FORMATS

    result = export(run_dir, out, formats=formats, force=force, use_ema=not no_ema)
    names = {file: fmt for fmt, file in FORMATS.items()}
    for file in result.files:
        fmt = names.get(file)
        checked = f" (checked on fixed noise, {_CHECKED[fmt]}: largest difference {result.checks[fmt]:.2g})" \
            if fmt in result.checks else ""
        click.echo(f"wrote {result.path / file}{checked}")
