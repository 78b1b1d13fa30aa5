"""Several processes, one run: PyTorch's own distributed engine, started by ``torchrun``.

``torchrun`` sets ``RANK``, ``LOCAL_RANK`` and ``WORLD_SIZE``; ganzoo reads them, starts the process group (NCCL on
CUDA, gloo on the CPU), wraps G and D in ``DistributedDataParallel`` and lets rank 0 alone write the run directory.
Everything here is a no-op in a single process, so the trainer calls it unconditionally.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.distributed as dist

from ..errors import ConfigError


@dataclass(frozen=True)
class World:
    """Where this process stands among the ranks of one run."""

    rank: int = 0
    local_rank: int = 0
    size: int = 1
    #: Ranks on this node (torchrun's LOCAL_WORLD_SIZE); 0 when the launcher does not say.
    local_size: int = 1

    @property
    def enabled(self) -> bool:
        """More than one process trains together."""
        return self.size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0 shows progress and writes the run directory."""
        return self.rank == 0


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"environment variable {name}={raw!r} is not a number; launch ganzoo with torchrun") from None


def world_from_env() -> World:
    """The world ``torchrun`` (or any launcher using its variables) describes; a single process otherwise."""
    size = _env_int("WORLD_SIZE", 1)
    rank = _env_int("RANK", 0)
    local_rank = _env_int("LOCAL_RANK", rank)
    # 0: the launcher did not say how many ranks share this node
    local_size = _env_int("LOCAL_WORLD_SIZE", 0 if size > 1 else 1)
    if size < 1 or not 0 <= rank < size or not 0 <= local_rank < (local_size or size):
        raise ConfigError(
            f"inconsistent launch: RANK={rank}, LOCAL_RANK={local_rank}, WORLD_SIZE={size}; start ganzoo with "
            f"`torchrun --nproc-per-node N -m ganzoo train ...`"
        )
    return World(rank, local_rank, size, local_size)


def device_for(world: World, name: str) -> torch.device:
    """This rank's device: ``cuda`` means ``cuda:LOCAL_RANK``; too few GPUs for the ranks is a one-line error."""
    name = name.strip().lower()
    if name in {"auto", "cuda"} and torch.cuda.is_available():
        count = torch.cuda.device_count()
        if max(world.local_size, world.local_rank + 1) > count:
            raise ConfigError(
                f"--device {name}: {world.local_size} processes per node but only {count} CUDA device(s); "
                f"use --nproc-per-node {count} or --device cpu"
            )
        return torch.device("cuda", world.local_rank)
    if name == "auto" or name == "cpu":
        return torch.device("cpu")
    if name == "cuda":
        raise ConfigError("--device cuda: CUDA is not available on this machine; use --device cpu or auto")
    raise ConfigError(
        f"--device {name}: with several processes each rank takes cuda:LOCAL_RANK; use --device cuda, cpu or auto"
    )


def start(world: World, device: torch.device) -> bool:
    """Join the process group if this is a multi-process run; True when this call started it (and must end it)."""
    if not world.enabled or dist.is_initialized():
        return False
    backend = "nccl" if device.type == "cuda" else "gloo"
    try:
        dist.init_process_group(backend=backend, rank=world.rank, world_size=world.size)
    except (RuntimeError, ValueError) as err:
        raise ConfigError(
            f"could not join the {backend} process group as rank {world.rank} of {world.size} ({err}); "
            f"check the torchrun rendezvous settings (--rdzv-endpoint, --nnodes)"
        ) from None
    return True


@contextmanager
def session(world: World, device_name: str) -> Iterator[None]:
    """Inside: the process group of a multi-process run (started here unless the caller started one)."""
    started = False
    if world.enabled:
        device = device_for(world, device_name)
        if device.type == "cuda":  # also when the caller started the group: collectives must use this rank's GPU
            torch.cuda.set_device(device)
        started = start(world, device)
    clean = False
    try:
        yield
        clean = True
    finally:
        if started:
            stop(clean)


def stop(clean: bool = True) -> None:
    """Leave the process group. After a clean session the ranks first meet at a barrier: a rank that tears its
    connections down while another still sends makes gloo abort that process ("terminate called without an active
    exception")."""
    if dist.is_initialized():
        try:
            if clean:
                dist.barrier()
        finally:
            dist.destroy_process_group()


def mean_(tensor: torch.Tensor, world: World) -> torch.Tensor:
    """Average a tensor over the ranks, in place (for logged statistics)."""
    if world.enabled:
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        tensor /= world.size
    return tensor


def average_buffers(buffers: list[torch.Tensor], world: World) -> None:
    """Make plugin state agree across the ranks (each rank adapts to its own batches): the mean of each float
    buffer, in one collective."""
    if not world.enabled or not buffers:
        return
    flat = torch.cat([b.detach().reshape(-1).float() for b in buffers])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    flat /= world.size
    offset = 0
    for b in buffers:
        b.copy_(flat[offset:offset + b.numel()].view_as(b))
        offset += b.numel()


def share(obj, world: World):
    """Rank 0's value of ``obj`` on every rank (e.g. the run directory, whose default name holds a timestamp)."""
    if not world.enabled:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def average_gradients(module: torch.nn.Module, world: World) -> None:
    """Average ``module``'s gradients over the ranks, for a backward pass that did not go through the DDP wrapper
    (a lazy regulariser's own step). Every rank runs the same step, so every rank has the same gradients to
    average."""
    if not world.enabled:
        return
    for param in module.parameters():
        if param.grad is not None:
            dist.all_reduce(param.grad, op=dist.ReduceOp.SUM)
            param.grad /= world.size


def barrier(world: World) -> None:
    """Wait for every rank (e.g. until rank 0 has created the run directory)."""
    if world.enabled:
        dist.barrier()


def rank_seed(seed: int, rank: int) -> int:
    """A seed of its own for each rank's batches and noise (rank 0 keeps the run's seed)."""
    return (seed + 1_000_003 * rank) % (2**63 - 1)


def wrap(generator: torch.nn.Module, discriminator: torch.nn.Module, device: torch.device, world: World,
         partial_discriminator: bool = False):
    """G and D as the training loop calls them: inside ``DistributedDataParallel`` when several ranks train.

    The plain modules stay the trainer's own, so checkpoints hold unwrapped ``state_dict`` keys (a DDP run resumes in
    one process and the other way round). BatchNorm statistics are per rank; for G, DDP copies rank 0's buffers to
    every rank at each forward pass (its default), so all ranks sample with the same statistics.
    ``partial_discriminator``: D has outputs (heads) that a backward pass may leave unused, which DDP must be told.
    """
    if not world.enabled:
        return generator, discriminator
    from torch.nn.parallel import DistributedDataParallel as DDP

    ids = [device.index] if device.type == "cuda" else None
    # A BatchNorm D runs twice (real, fake) before one backward: copying rank 0's buffers in place before the second
    # forward would break the first one's backward, and D's running statistics are never used.
    return DDP(generator, device_ids=ids), DDP(discriminator, device_ids=ids, broadcast_buffers=False,
                                               find_unused_parameters=partial_discriminator)


def agree(out_of_time: bool, stop_requested: bool, check_now: bool, device: torch.device, world: World):
    """``(out_of_time, stop)`` that every rank shares. A single process answers at once; ranks compare their flags
    only at ``check_now`` steps (every 10 steps at most), so the loop does not synchronise on every step."""
    if not world.enabled:
        return out_of_time, stop_requested
    if not check_now:
        return False, False
    flags = torch.tensor([float(out_of_time), float(stop_requested)], device=device)
    dist.all_reduce(flags, op=dist.ReduceOp.MAX)
    return bool(flags[0].item()), bool(flags[1].item())


def gather_rng(device: torch.device, world: World) -> list:
    """Every rank's RNG states (for the checkpoint), so each rank continues its own random stream on resume."""
    if not world.enabled:
        return []
    mine = {"cpu": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state(device) if device.type == "cuda" else None}
    states = [None] * world.size
    dist.all_gather_object(states, mine)
    return states


def restore_rng(ckpt: dict, seed: int, step: int, device: torch.device, world: World) -> None:
    """This rank's saved RNG state when the checkpoint came from as many ranks; a fresh per-rank stream otherwise
    (a single-process checkpoint resumed by several ranks, or a different world size)."""
    states = ckpt.get("rng_ranks") or []
    if len(states) == world.size:
        torch.set_rng_state(states[world.rank]["cpu"])
        if device.type == "cuda" and states[world.rank].get("cuda") is not None:
            torch.cuda.set_rng_state(states[world.rank]["cuda"], device)
        return
    torch.manual_seed(rank_seed(seed + step, world.rank))
