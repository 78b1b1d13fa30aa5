"""The model card of an export folder: ``README.md`` in the Hugging Face Hub's conventions (YAML front matter with
``library_name``, ``tags``, ``datasets`` and ``metrics``), so that ``huggingface-cli upload`` publishes the folder as
it is. It is written from the folder's ``config.json`` alone, so the card and the file never disagree."""

from __future__ import annotations

import json
from typing import Any

#: Components that describe the model (tags); optimizers and the dataset have their own places.
_TAGGED = ("generator", "discriminator", "loss", "augment", "regularisers", "constraints")


def _yaml(value: Any) -> str:
    """A YAML scalar: JSON's quoted string is one, whatever the text holds."""
    return json.dumps(str(value))


def _tag(name: str) -> str:
    return name.lower().replace(":", "-").replace("_", "-")


def _shape(shape: list) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _number(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _front_matter(info: dict[str, Any]) -> list[str]:
    components = info["components"]
    tags = ["gan", "ganzoo"]
    for c in components:
        if c["slot"] in _TAGGED and _tag(c["name"]) not in tags:
            tags.append(_tag(c["name"]))
    dataset = next(c["name"] for c in components if c["slot"] == "dataset")
    metrics = list(info.get("evaluation", {}).get("values", {}))
    lines = ["---", "library_name: ganzoo", "tags:", *(f"- {_yaml(t)}" for t in tags),
             "datasets:", f"- {_yaml(dataset)}"]
    if metrics:
        lines += ["metrics:", *(f"- {_yaml(m)}" for m in metrics)]
    if info["data"]["kind"] == "image" and info.get("classes") is None:
        lines.append("pipeline_tag: unconditional-image-generation")
    return [*lines, "---", ""]


def snippets(info: dict[str, Any]) -> dict[str, str]:
    """Three lines of Python for each way of loading the folder that it allows, run from inside the folder."""
    latent, classes, files = info["latent_dim"], info.get("classes"), info.get("files", [])
    n = 16
    shape = _shape([n, *info["data"]["shape"]])
    what = "pixels in [0, 1]" if info["data"]["kind"] == "image" else "points in data coordinates"
    torch_args = f"torch.randn({n}, {latent})" + (f", torch.arange({n}) % {classes}" if classes else "")
    out: dict[str, str] = {}
    if "generator.pt2" in files:
        out["torch.export (needs torch only)"] = (
            "import torch\n"
            "program = torch.export.load(\"generator.pt2\").module()\n"
            f"samples = program({torch_args})  # {shape}, {what}")
    if "generator.onnx" in files:
        feed = f"\"z\": np.random.randn({n}, {latent}).astype(np.float32)" + (
            f", \"labels\": np.arange({n}, dtype=np.int64) % {classes}" if classes else "")
        out["ONNX Runtime (needs onnxruntime and numpy only)"] = (
            "import numpy as np, onnxruntime as ort\n"
            "session = ort.InferenceSession(\"generator.onnx\", providers=[\"CPUExecutionProvider\"])\n"
            f"samples, = session.run(None, {{{feed}}})  # {shape}, {what}")
    if "generator.safetensors" in files:
        out["ganzoo (needs ganzoo and the generator's plugin, named under Components)"] = (
            "import ganzoo, torch\n"
            "generator = ganzoo.load_generator(\".\")\n"
            f"samples = generator({torch_args})  # {shape}, {what}")
    return out


def model_card(info: dict[str, Any], config_toml: str) -> str:
    """The card's text."""
    components = info["components"]
    generator = next(c for c in components if c["slot"] == "generator")
    dataset = next(c for c in components if c["slot"] == "dataset")
    source, config = info["source"], info["training_config"]
    which = "its exponential moving average (EMA) copy" if source["ema"] else "the generator as trained (no EMA)"
    lines = [*_front_matter(info), f"# {info['name']}", "",
             f"A GAN generator, `{generator['name']}` ({generator['description'].rstrip('.')}), trained with "
             f"ganzoo for {source['step']:,} steps on the dataset `{dataset['name']}`: {which}. Every format here "
             f"takes the same inputs and returns samples in the data's space.", "",
             "![samples from fixed noise](samples.png)", "",
             "`samples.png`: samples drawn from fixed noise (seed 0), as `ganzoo sample` draws them.", "",
             "## Inputs and outputs", "", "| | name | shape | dtype | meaning |", "| --- | --- | --- | --- | --- |"]
    for role, items in (("input", info["inputs"]), ("output", info["outputs"])):
        for item in items:
            span = f", {item['range'][0]} to {item['range'][1]}" if "range" in item else ""
            lines.append(f"| {role} | `{item['name']}` | {_shape(item['shape'])} | {item['dtype']} | "
                         f"{_cell(item['description'])}{span} |")
    lines += ["", "## Loading", "", "From inside this folder (or a download of it):", ""]
    for title, code in snippets(info).items():
        lines += [f"### {title}", "", "```python", code, "```", ""]
    if "generator.safetensors" in info.get("files", []):
        lines += ["or on the command line: `ganzoo sample . -n 64 -o samples.png` and `ganzoo evaluate .` (the "
                  "latter needs the dataset).", ""]
    lines += ["## Components", "", "| slot | component | parameters | plugin | citation |",
              "| --- | --- | --- | --- | --- |"]
    for c in components:
        plugin = f"{c['distribution']} {c['version'] or ''}".strip() if c["distribution"] else \
            f"in-process plugin '{c['plugin']}'"
        params = ", ".join(f"{k}={json.dumps(v)}" for k, v in c["params"].items())
        lines.append(f"| {c['slot']} | `{c['name']}` | {_cell(params) or '-'} | {_cell(plugin)} | "
                     f"{_cell(c['citation']) or '-'} |")
    evaluation = info.get("evaluation") or {}
    lines += ["", "## Evaluation", ""]
    if evaluation.get("values"):
        lines += [f"The run's last evaluation, at step {evaluation.get('step')}:", "", "| metric | value |",
                  "| --- | --- |", *(f"| `{k}` | {_number(v)} |" for k, v in evaluation["values"].items())]
    else:
        lines.append("The run logged no evaluation (`ganzoo train --eval-every N`); `ganzoo evaluate .` measures one.")
    checks = info.get("checks", {})
    lines += ["", "## Training", "",
              f"{config['steps']:,} steps of batch {config['batch_size']}, seed {config['seed']}; the resolved "
              f"configuration (`ganzoo train --config FILE` repeats it):",
              "", "```toml", config_toml.rstrip(), "```", "", "## Files", "", "| file | what |", "| --- | --- |"]
    described = {"generator.pt2": "torch.export program (ExportedProgram), dynamic batch",
                 "generator.onnx": "ONNX model from torch's exporter, dynamic batch",
                 "generator.safetensors": "the generator's weights, for ganzoo and its plugin",
                 "config.json": "inputs, outputs, components, plugins and versions, training config",
                 "samples.png": "samples from fixed noise", "README.md": "this card"}
    for name in info.get("files", []):
        fmt = {"generator.pt2": "pt2", "generator.onnx": "onnx", "generator.safetensors": "safetensors"}.get(name)
        difference = checks.get("max_difference", {}).get(fmt)
        checked = f"; largest difference from the generator on fixed noise: {difference:.1g}" \
            if difference is not None else ""
        lines.append(f"| `{name}` | {described.get(name, '')}{checked} |")
    software = info.get("software", {})
    lines += ["", f"Exported with ganzoo {software.get('ganzoo')} and torch {software.get('torch')}.", ""]
    return "\n".join(lines)
