"""Built-in plugin: adaptive discriminator augmentation, ADA (Karras et al. 2020).

Like DiffAugment, every D input, real or generated, goes through the same differentiable transformations; unlike
it, each transformation is applied with a probability p that adapts. D overfitting shows as its outputs on real
images turning confidently positive, so every ``interval`` D updates p moves by sign(E[sign D(x)] − target) ·
batch · interval / (kimg · 1000), clamped to [0, 1]: up while r_t = E[sign D(x)] exceeds the target (0.6), down
otherwise. The pipeline: x-flips, 90° rotations (square images), integer translations of up to 1/8, brightness,
contrast and saturation. p and r_t are the augmentation's state (checkpointed), and p is logged as ``ada_p``.
"""

from __future__ import annotations

import torch
from torch import nn

from ganzoo import AugmentationSpec, DataSpec, Param, RecipeSpec, hookimpl, translate

CITATION = "Karras, Aittala, Hellsten, Laine, Lehtinen & Aila 2020, 'Training Generative Adversarial Networks " \
           "with Limited Data'"


def _rotate(x: torch.Tensor) -> torch.Tensor:
    k = torch.randint(0, 4, (len(x), 1, 1, 1), device=x.device)
    turns = [x, x.rot90(1, (2, 3)), x.rot90(2, (2, 3)), x.rot90(3, (2, 3))]
    return sum(torch.where(k == i, t, torch.zeros_like(t)) for i, t in enumerate(turns))


def _scale(n: int, std: float, x: torch.Tensor) -> torch.Tensor:
    return torch.exp2(torch.randn(n, 1, 1, 1, device=x.device, dtype=x.dtype) * std)


OPS = {
    "xflip": lambda x: x.flip(3),
    "rotate90": _rotate,
    "translate": lambda x: translate(x, 0.125, "reflection"),
    "brightness": lambda x: x + 0.2 * torch.randn(len(x), 1, 1, 1, device=x.device, dtype=x.dtype),
    "contrast": lambda x: (x - x.mean((1, 2, 3), keepdim=True)) * _scale(len(x), 0.5, x) + x.mean((1, 2, 3), True),
    "saturation": lambda x: (x - x.mean(1, keepdim=True)) * _scale(len(x), 1.0, x) + x.mean(1, keepdim=True),
}


class ADA(nn.Module):
    """The pipeline, each operation applied to each sample with probability ``p``; ``p`` follows r_t."""

    def __init__(self, data: DataSpec, target: float = 0.6, interval: int = 4, kimg: float = 500.0,
                 p: float = 0.0) -> None:
        super().__init__()
        square = data.shape[1] == data.shape[2]
        self.ops = [op for name, op in OPS.items() if square or name != "rotate90"]
        if data.shape[0] != 3:  # saturation mixes colour channels
            self.ops = [op for op in self.ops if op is not OPS["saturation"]]
        self.target, self.interval, self.kimg = target, interval, kimg
        self.register_buffer("p", torch.tensor(float(p)))
        self.register_buffer("signs", torch.zeros(()))  # E[sign D(x)] summed since the last adjustment
        self.updates = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for op in self.ops:
            apply = (torch.rand(len(x), 1, 1, 1, device=x.device) < self.p).to(x.dtype)
            x = apply * op(x) + (1 - apply) * x
        return x

    @torch.no_grad()
    def observe(self, ctx) -> None:
        """After each D update: r_t from D's outputs on the real batch; p adjusted every ``interval`` updates."""
        self.signs += torch.sign(ctx.real_out.logits.float()).mean()
        self.updates += 1
        if self.updates % self.interval == 0:
            step = len(ctx.real) * self.interval / (self.kimg * 1000)
            self.p.add_(torch.sign(self.signs / self.interval - self.target) * step).clamp_(0, 1)
            self.signs.zero_()

    def logged(self) -> dict[str, torch.Tensor]:
        return {"ada_p": self.p}

    def get_extra_state(self) -> dict:  # the update count, so a resumed run adjusts p on the same steps
        return {"updates": self.updates}

    def set_extra_state(self, state: dict) -> None:
        self.updates = int(state["updates"])


@hookimpl
def ganzoo_augmentations():
    yield AugmentationSpec(
        name="ada", factory=ADA, citation=CITATION, data_kinds=("image",),
        params=(Param("target", float, 0.6, "the r_t = E[sign D(x)] that p steers D towards", min=0, max=1),
                Param("interval", int, 4, "D updates between adjustments of p", min=1),
                Param("kimg", float, 500.0, "thousands of real images for p to go from 0 to 1", above=0),
                Param("p", float, 0.0, "the starting probability", min=0, max=1)),
        description="ADA: flips, rotations, shifts and colour on every D input, each with a probability p that "
                    "rises while D overfits.",
    )


@hookimpl
def ganzoo_recipes():
    yield RecipeSpec(
        name="ada-mnist", citation=CITATION,
        description="ADA on 1,000 MNIST images (as limited-mnist and diffaugment-mnist): p adapts from 0.",
        settings={"dataset": {"name": "mnist", "limit": 1000}, "generator": "mlp", "discriminator": "mlp",
                  "loss": "nonsaturating", "augment": [{"name": "ada", "kimg": 100.0}], "steps": 10_000},
    )
