"""``--compile``: torch.compile for G and D in the training loop, and CUDA graphs through it.

Only the *callables the loop uses* are compiled; the trainer keeps the original modules for everything else, so
checkpoints hold plain ``state_dict`` keys (never the ``_orig_mod.`` prefix of a compiled wrapper), samples and
evaluation run the eager modules, and a loss that differentiates twice (a gradient penalty) gets the eager
discriminator through its ``StepContext``.

Why CUDA graphs come from ``mode="reduce-overhead"`` and not from a hand-written ``torch.cuda.graph`` capture of the
whole step: a hand capture needs static input and output buffers, a capturable optimizer, graph-safe RNG, and a step
with no host-side control flow — but the step runs plugin code (any loss, ``d_steps``/``g_steps`` loops, the
``requires_grad`` switch that spares D's weight gradients during G's update), and one host-side branch or CPU tensor
inside a capture silently replays stale values. Inductor's CUDA graph trees capture the forward and backward graphs
it generated, check that inputs stay static, fall back to plain kernels where they cannot replay safely, and leave
the optimizer eager (fused Adam is a single launch per update anyway). The price is a warm-up of a few steps and the
rule that a step starts with :func:`torch.compiler.cudagraph_mark_step_begin`, which :meth:`Compiled.step_begin` does.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass

import torch
from torch import nn

from ..errors import ConfigError

MODES = ("auto", "default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


def resolve_mode(mode: str, device: torch.device) -> str:
    """``auto`` is ``reduce-overhead`` (CUDA graphs) on CUDA, where kernel launches dominate small models, and
    ``default`` elsewhere (CUDA graphs need CUDA)."""
    if mode not in MODES:
        raise ConfigError(f"--compile-mode {mode!r} is not a torch.compile mode; use one of {', '.join(MODES)}")
    if mode == "auto":
        return "reduce-overhead" if device.type == "cuda" else "default"
    return mode


def _check_toolchain(device: torch.device) -> None:
    if device.type == "cpu":
        compilers = [os.environ.get("CXX"), "g++", "clang++", "c++"]
        if not any(c and shutil.which(c) for c in compilers):
            raise ConfigError("--compile on the CPU needs a C++ compiler (g++ or clang++, or $CXX) to build its "
                              "kernels; install one or train without --compile")


@dataclass
class Compiled:
    """The compiled callables for G and D, and whether each step must mark a new CUDA graph generation."""

    generator: nn.Module
    discriminator: nn.Module
    mode: str
    cuda_graphs: bool

    def step_begin(self) -> None:
        """Tell CUDA graph trees that a new training step starts, so the last step's outputs may be reused."""
        if self.cuda_graphs:
            torch.compiler.cudagraph_mark_step_begin()


def compile_models(generator: nn.Module, discriminator: nn.Module, device: torch.device, mode: str) -> Compiled:
    """Wrap G and D with torch.compile (compilation itself happens on the first steps)."""
    mode = resolve_mode(mode, device)
    _check_toolchain(device)
    cuda_graphs = device.type == "cuda" and mode in ("reduce-overhead", "max-autotune")
    # Static shapes: D sees two batch sizes (2B when it scores real and generated samples in one pass, B for G's
    # update); dynamo's automatic dynamic shapes would recompile one symbolic-shape graph after the second, where
    # two specialised graphs (each its own CUDA graph) are faster and the set of shapes never grows.
    return Compiled(torch.compile(generator, mode=mode, dynamic=False),
                    torch.compile(discriminator, mode=mode, dynamic=False), mode, cuda_graphs)


def compile_error(err: Exception) -> ConfigError:
    """A compiler failure as one line that says how to train anyway."""
    text = next((line.strip() for line in str(err).splitlines() if line.strip()), type(err).__name__)
    return ConfigError(f"--compile failed ({type(err).__name__}: {text[:200]}); train without --compile, or try "
                       f"--compile-mode default")
