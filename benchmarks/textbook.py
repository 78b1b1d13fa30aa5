"""The GAN training loop as tutorials write it — the reference ganzoo is measured against.

torchvision ``DataLoader`` over MNIST with ``ToTensor()`` + ``Normalize`` per sample, shuffle, sigmoid + ``nn.BCELoss``,
G 100 -> 128 -> 256 -> 512 -> 1024 -> 784 (LeakyReLU 0.2, BatchNorm on the last three hidden layers, tanh),
D 784 -> 512 -> 256 -> 1, Adam 2e-4 (0.5, 0.999), one D and one G update per step. Deliberately not optimised.
"""

from __future__ import annotations

import time

import torch
from torch import nn
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

LATENT = 100


def _block(n_in: int, n_out: int, normalize: bool = True) -> list[nn.Module]:
    layers: list[nn.Module] = [nn.Linear(n_in, n_out)]
    if normalize:
        layers.append(nn.BatchNorm1d(n_out))
    layers.append(nn.LeakyReLU(0.2, inplace=True))
    return layers


class Generator(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.model = nn.Sequential(
            *_block(LATENT, 128, normalize=False), *_block(128, 256), *_block(256, 512), *_block(512, 1024),
            nn.Linear(1024, 784), nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.model(z).view(len(z), 1, 28, 28)


class Discriminator(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.model = nn.Sequential(
            nn.Linear(784, 512), nn.LeakyReLU(0.2, inplace=True), nn.Linear(512, 256), nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(256, 1), nn.Sigmoid(),
        )

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        return self.model(img.view(len(img), -1))


def make_loader(root: str, batch_size: int) -> DataLoader:
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize([0.5], [0.5])])
    dataset = datasets.MNIST(root, train=True, download=False, transform=transform)
    return DataLoader(dataset, batch_size=batch_size, shuffle=True, drop_last=True)


def train_textbook(root: str, seconds: float | None = None, steps: int | None = None, batch_size: int = 64,
                   seed: int = 0, device: str = "cpu", on_step=None) -> tuple[Generator, int, float]:
    """Train for a wall-time budget or a number of steps; returns (G, steps done, seconds)."""
    torch.manual_seed(seed)
    dev = torch.device(device)
    G, D = Generator().to(dev), Discriminator().to(dev)
    loss = nn.BCELoss()
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    loader = make_loader(root, batch_size)
    done, start = 0, time.perf_counter()
    while True:
        for imgs, _ in loader:
            real_imgs = imgs.to(dev)
            valid = torch.ones(len(imgs), 1, device=dev)
            fake = torch.zeros(len(imgs), 1, device=dev)
            opt_g.zero_grad()
            z = torch.randn(len(imgs), LATENT, device=dev)
            gen_imgs = G(z)
            g_loss = loss(D(gen_imgs), valid)
            g_loss.backward()
            opt_g.step()
            opt_d.zero_grad()
            d_loss = (loss(D(real_imgs), valid) + loss(D(gen_imgs.detach()), fake)) / 2
            d_loss.backward()
            opt_d.step()
            done += 1
            if on_step is not None:
                on_step(done, d_loss, g_loss)
            elapsed = time.perf_counter() - start
            if (seconds is not None and elapsed >= seconds) or (steps is not None and done >= steps):
                return G, done, elapsed
