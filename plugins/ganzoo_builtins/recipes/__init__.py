"""Built-in plugin: recipes — the classic tutorial GANs this project grew from, and ganzoo's tuned defaults.

Each recipe is the tutorial's configuration written in ganzoo's terms: the same layer widths, activations, latent
size, batch size, optimiser settings and length. Where a tutorial differs in a detail ganzoo does not parameterise
(an activation inside a conv stack, the optimiser of one network), the description says so. A recipe writes only
what differs from its dataset's suggestions (MNIST's z of 100, batch 128, lr 4e-4, EMA 0.999 and 25k steps are the
mnist dataset's own), so a retuned dataset retunes every recipe that does not say otherwise. ``mnist-best`` and
``parabola-best`` resolve to what ``ganzoo train --dataset mnist`` and ``ganzoo train`` do; tests keep both true.
"""

from __future__ import annotations

import math

from ganzoo import RecipeSpec, hookimpl

#: Tutorials have no moving average of G; 0 also overrides the datasets' suggested EMA.
NO_EMA = 0.0
#: Both players' optimizer: Adam with its library defaults, or with DCGAN's beta1 = 0.5.
ADAM = {"name": "adam", "betas": [0.9, 0.999]}
DCGAN_ADAM = {"name": "adam", "betas": [0.5, 0.999]}


def _mnist(**options) -> dict:
    return {"dataset": {"name": "mnist"}, "ema": NO_EMA, **options}


RECIPES = (
    RecipeSpec(
        name="keras-mnist",
        description="One-hidden-layer MLP GAN on MNIST: G and D 128 wide, LeakyReLU 0.01, BCE with real labels 0.9, "
                    "Adam 2e-3.",
        citation="Goodfellow et al. 2014, as in the Keras/TensorFlow MNIST GAN tutorial (Udacity deep-learning "
                 "gan_mnist)",
        settings=_mnist(
            generator={"name": "mlp", "hidden": [128], "batchnorm": False, "slope": 0.01, "output": "tanh"},
            discriminator={"name": "mlp", "hidden": [128], "slope": 0.01},
            loss={"name": "nonsaturating", "real_label": 0.9},
            batch_size=100, lr_g=2e-3, lr_d=2e-3, opt=ADAM, steps=60_000,
        ),
    ),
    RecipeSpec(
        name="batchnorm-mlp-mnist",
        description="BatchNorm MLP G 256-512-1024 (LeakyReLU 0.2, tanh) against an MLP D 512-256 on MNIST, "
                    "Adam 2e-4 (0.5, 0.999).",
        citation="eriklindernoren/Keras-GAN gan/gan.py and PyTorch-GAN implementations/gan/gan.py",
        settings=_mnist(
            generator={"name": "mlp", "hidden": [256, 512, 1024], "batchnorm": True, "slope": 0.2, "output": "tanh"},
            discriminator={"name": "mlp", "hidden": [512, 256], "slope": 0.2},
            loss={"name": "nonsaturating"},
            batch_size=32, lr_g=2e-4, lr_d=2e-4, opt=DCGAN_ADAM, steps=30_000,
        ),
    ),
    RecipeSpec(
        name="upconv-maxpool-mnist",
        description="Conv upsampling G (fc 1024, 128x7x7, 5x5 convs) against a max-pool conv D 64-128-fc 1024 on "
                    "MNIST; ReLU/LeakyReLU and Adam instead of tanh and SGD.",
        citation="jacobgil/keras-dcgan dcgan.py (after Radford et al. 2015)",
        settings=_mnist(
            generator={"name": "upconv", "fc": 1024, "channels": 128, "mid_channels": 64, "kernel": 5,
                       "batchnorm": True},
            discriminator={"name": "maxpool", "channels": [64, 128], "fc": 1024},
            loss={"name": "nonsaturating"},
            lr_g=2e-4, lr_d=2e-4, opt=DCGAN_ADAM, steps=20_000,
        ),
    ),
    RecipeSpec(
        name="pytorch-mlp-mnist",
        description="PyTorch MLP GAN on MNIST: G 256-256 (ReLU, tanh) and D 256-256 (LeakyReLU 0.2), z 64, "
                    "batch 100, Adam 3e-4.",
        citation="yunjey/pytorch-tutorial generative_adversarial_network/main.py (Goodfellow et al. 2014)",
        settings=_mnist(
            generator={"name": "mlp", "hidden": [256, 256], "batchnorm": False, "slope": 0.0, "output": "tanh"},
            discriminator={"name": "mlp", "hidden": [256, 256], "slope": 0.2},
            loss={"name": "nonsaturating"},
            latent_dim=64, batch_size=100, lr_g=3e-4, lr_d=3e-4, opt=ADAM, steps=60_000,
        ),
    ),
    RecipeSpec(
        name="parabola-gan",
        description="1-D function GAN: G 15 ReLU units from a 5-d z, D 25 ReLU units, Adam 1e-3, points on a "
                    "parabola for x in [-0.5, 0.5].",
        citation="Brownlee, 'How to Develop a 1D Generative Adversarial Network From Scratch in Keras' (y = x^2)",
        settings={
            "dataset": {"name": "parabola", "x_min": -0.5, "x_max": 0.5},
            "generator": {"name": "mlp", "hidden": [15], "batchnorm": False, "slope": 0.0, "output": "linear"},
            "discriminator": {"name": "mlp", "hidden": [25], "slope": 0.0},
            "loss": {"name": "nonsaturating"},
            "latent_dim": 5, "batch_size": 64, "lr_g": 1e-3, "lr_d": 1e-3, "opt": ADAM,
            "steps": 10_000, "ema": NO_EMA,
        },
    ),
    RecipeSpec(
        name="sine-gan",
        description="Sine GAN: 1024 points on y = sin x for x in [0, 2pi], G 16-32 ReLU from a 2-d z, D 256-128-64 "
                    "ReLU with dropout 0.3, Adam 1e-3.",
        citation="Real Python, 'Generative Adversarial Networks: Build Your First Models' (PyTorch)",
        settings={
            "dataset": {"name": "sine", "n": 1024, "x_min": 0.0, "x_max": 2 * math.pi},
            "generator": {"name": "mlp", "hidden": [16, 32], "batchnorm": False, "slope": 0.0, "output": "linear"},
            "discriminator": {"name": "mlp", "hidden": [256, 128, 64], "slope": 0.0, "dropout": 0.3},
            "loss": {"name": "nonsaturating"},
            # 300 epochs of 1024 points in batches of 32
            "latent_dim": 2, "batch_size": 32, "lr_g": 1e-3, "lr_d": 1e-3, "opt": ADAM,
            "steps": 9_600, "ema": NO_EMA,
        },
    ),
    RecipeSpec(
        name="dcgan-cifar10",
        description="DCGAN on CIFAR-10 32x32: conv-transpose G and strided-conv D with BatchNorm, z 100, batch 128, "
                    "Adam 2e-4 (0.5, 0.999), 20k steps (~51 epochs).",
        citation="Radford, Metz & Chintala 2016, 'Unsupervised Representation Learning with Deep Convolutional "
                 "Generative Adversarial Networks'",
        settings={
            "dataset": {"name": "cifar10"}, "generator": {"name": "dcgan"}, "discriminator": {"name": "dcgan"},
            "loss": {"name": "nonsaturating"}, "latent_dim": 100, "batch_size": 128, "lr_g": 2e-4, "lr_d": 2e-4,
            "opt": DCGAN_ADAM, "steps": 20_000, "ema": NO_EMA,
        },
    ),
    RecipeSpec(
        name="dcgan-celeba-64",
        description="DCGAN on CelebA faces centre-cropped to 64x64: the paper's G and D, z 100, batch 128, Adam 2e-4 "
                    "(0.5, 0.999), 10k steps (~6 epochs).",
        citation="Radford, Metz & Chintala 2016, as in the PyTorch DCGAN tutorial (examples/dcgan, CelebA 64x64)",
        settings={
            "dataset": {"name": "celeba", "size": 64}, "generator": {"name": "dcgan"},
            "discriminator": {"name": "dcgan"}, "loss": {"name": "nonsaturating"}, "latent_dim": 100,
            "batch_size": 128, "lr_g": 2e-4, "lr_d": 2e-4, "opt": DCGAN_ADAM, "steps": 10_000, "ema": NO_EMA,
        },
    ),
    RecipeSpec(
        name="mnist-best",
        description="ganzoo's tuned MNIST default: BatchNorm MLP G 256-512-1024, D 512-256, batch 128, Adam 4e-4, "
                    "EMA 0.999, 25k steps.",
        citation="ganzoo benchmarks/quality.py: classifier FID 13.9 / 12.9 / 18.2 (seeds 0-2) in 5 CPU minutes, "
                 "6.7-11.6x lower than the textbook loop",
        settings={
            "dataset": {"name": "mnist"},
            "generator": {"name": "mlp", "hidden": [256, 512, 1024], "batchnorm": True, "slope": 0.2},
            "discriminator": {"name": "mlp", "hidden": [512, 256], "slope": 0.2, "dropout": 0.0},
            "loss": {"name": "nonsaturating", "real_label": 1.0},
            "opt": DCGAN_ADAM,  # z, batch, learning rates, EMA and length: the mnist dataset's own suggestions
        },
    ),
    RecipeSpec(
        name="sngan-mnist",
        description="SNGAN on MNIST: the default MLP mix with spectral normalisation in every D layer, the hinge "
                    "loss, Adam (0, 0.9) and D at twice G's learning rate.",
        citation="Miyato et al. 2018, 'Spectral Normalization for Generative Adversarial Networks'",
        settings={
            "dataset": {"name": "mnist"},
            "generator": {"name": "mlp", "hidden": [256, 512, 1024], "batchnorm": True, "slope": 0.2},
            "discriminator": {"name": "mlp", "hidden": [512, 256], "slope": 0.2, "spectral_norm": True},
            "loss": {"name": "hinge"},
            # SNGAN's Adam (β1 = 0, β2 = 0.9) and a faster D (TTUR): the normalised D learns slowly at G's rate
            # (MNIST's suggested 4e-4), so it gets twice that
            "lr_d": 8e-4, "opt": {"name": "adam", "betas": [0.0, 0.9]}, "steps": 10_000,
        },
    ),
    RecipeSpec(
        name="parabola-best",
        description="ganzoo's tuned parabola default: plain MLP G 128-128-128 against D 256-256, a 64-D latent, "
                    "batch 128, Adam 4e-4, EMA 0.99, 6k steps.",
        citation="ganzoo benchmarks/quality.py: curve error 0.040-0.043 (seeds 0-2) in 21-26 s on 2 CPU cores",
        settings={
            "dataset": {"name": "parabola"},
            "generator": {"name": "mlp", "hidden": [128, 128, 128], "batchnorm": False},
            "discriminator": {"name": "mlp", "hidden": [256, 256], "slope": 0.2, "dropout": 0.0},
            "loss": {"name": "nonsaturating", "real_label": 1.0},
            "batch_size": 128, "lr_g": 4e-4, "lr_d": 4e-4, "opt": DCGAN_ADAM, "ema": 0.99,
            # 6,000 steps, a 64-D latent, no regulariser and G's LeakyReLU of 0.2: the parabola's own suggestions
        },
    ),
)


@hookimpl
def ganzoo_recipes():
    return RECIPES
