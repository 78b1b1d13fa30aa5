"""Where a run's real batches come from: the whole dataset on the device, or streamed from the host.

A dataset that fits the memory budget is moved to the device once and batches are drawn there by index, with no
host sync. A larger one (typically a memory-mapped cache of decoded images) stays on the host: a background thread
draws each batch's indices, gathers those samples and copies them to the device (pinned, non-blocking on CUDA) while
the step before runs. Either way the samples stay as stored (``uint8`` pixels) until the batch becomes float32.
"""

from __future__ import annotations

import os
import queue
import threading
from dataclasses import dataclass

import numpy as np
import torch

from .contract import Data, to_model_space

#: Share of the free memory a dataset may take by default (the models, optimizers and activations need the rest).
BUDGET_SHARE = 0.5
#: Batches the streaming thread prepares ahead of the step that needs them.
PREFETCH = 4


def free_memory(device: torch.device) -> int:
    """Bytes free for a dataset: on CUDA the device's free memory, elsewhere the host's available memory."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def memory_budget(device: torch.device, gib: float | None) -> int:
    """The bytes a dataset may take on ``device``: ``gib`` when given, else a share of the free memory."""
    return int(gib * 2**30) if gib else int(free_memory(device) * BUDGET_SHARE)


@dataclass
class RealBatch:
    samples: torch.Tensor  # float32, model space, on the device
    labels: torch.Tensor | None


class DeviceBatches:
    """The whole dataset on the device; batches drawn with the device's random stream (part of a checkpoint)."""

    streamed = False

    def __init__(self, data: Data, labels: bool, device: torch.device) -> None:
        self.device = device
        self.samples = data.samples.to(device)
        self.labels = data.labels.to(device) if labels else None

    def __call__(self, n: int) -> RealBatch:
        idx = torch.randint(len(self.samples), (n,), device=self.device)
        return RealBatch(to_model_space(self.samples[idx]), self.labels[idx] if self.labels is not None else None)

    def state(self) -> dict:
        return {"streamed": False}

    def load(self, state: dict) -> None:
        pass

    def close(self) -> None:
        pass


class StreamedBatches:
    """Batches gathered on the host by a background thread and copied to the device ahead of use.

    Batch ``k``'s indices come from a generator seeded by (seed, k), so a resumed run (which restores ``k``) draws
    the same batches as an uninterrupted one, and each rank (its own ``seed``) draws its own.
    """

    streamed = True

    def __init__(self, data: Data, labels: bool, device: torch.device, batch_size: int, seed: int) -> None:
        self.samples, self.labels = data.samples, data.labels if labels else None
        self._samples = data.samples.numpy()  # the same memory (a memory-mapped file stays one)
        self._labels = self.labels.numpy() if self.labels is not None else None
        self.device, self.batch_size, self.seed = device, batch_size, seed
        self.pin = device.type == "cuda"
        self.drawn = 0  # batches handed to the trainer
        self._queue: queue.Queue | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def _indices(self, k: int) -> np.ndarray:
        gen = np.random.default_rng((self.seed, k))
        # sorted: neighbouring reads from a memory-mapped file; the order within a batch does not matter to a GAN
        return np.sort(gen.integers(0, len(self.samples), self.batch_size))

    def _gather(self, k: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        # numpy, not torch, in this thread: a torch op here starts a second OpenMP team whose spinning threads
        # compete with the training step for the cores (measured: 9x slower steps on 2 cores)
        idx = self._indices(k)
        x = torch.from_numpy(np.take(self._samples, idx, axis=0))
        y = torch.from_numpy(np.take(self._labels, idx)) if self._labels is not None else None
        if self.pin:
            x, y = x.pin_memory(), (y.pin_memory() if y is not None else None)
        # non-blocking only from pinned memory: an unpinned source may be freed before an asynchronous copy ends
        x = x.to(self.device, non_blocking=self.pin)
        return x, (y.to(self.device, non_blocking=self.pin) if y is not None else None)

    def _work(self, start: int) -> None:
        k = start
        if self.pin:
            torch.cuda.set_device(self.device)  # this thread's CUDA calls go to the run's GPU, not GPU 0
        stream = torch.cuda.Stream(self.device) if self.pin else None
        while not self._stop.is_set():
            try:
                if stream is not None:
                    with torch.cuda.stream(stream):
                        item = self._gather(k)
                    event = torch.cuda.Event()
                    event.record(stream)
                else:
                    item, event = self._gather(k), None
            except BaseException as err:  # noqa: BLE001 - handed to the trainer, which raises it
                item, event = err, None
            while not self._stop.is_set():
                try:
                    self._queue.put((item, event), timeout=0.1)
                    break
                except queue.Full:
                    continue
            if isinstance(item, BaseException):
                return
            k += 1

    def __call__(self, n: int) -> RealBatch:
        if n != self.batch_size:
            raise ValueError(f"streamed batches have {self.batch_size} samples, not {n}")
        if self._thread is None:
            self._queue = queue.Queue(PREFETCH)
            self._thread = threading.Thread(target=self._work, args=(self.drawn,), daemon=True,
                                            name="ganzoo-batches")
            self._thread.start()
        item, event = self._queue.get()
        if isinstance(item, BaseException):
            raise item
        x, y = item
        if event is not None:
            main = torch.cuda.current_stream(self.device)
            main.wait_event(event)
            for t in (x, y):  # made on the side stream, read on this one: not to be reused before this one is done
                if t is not None:
                    t.record_stream(main)
        self.drawn += 1
        return RealBatch(to_model_space(x), y)

    def state(self) -> dict:
        return {"streamed": True, "drawn": self.drawn}

    def load(self, state: dict) -> None:
        self.close()
        self.drawn = int(state.get("drawn", 0))

    def close(self) -> None:
        """Stop the thread (a later draw starts it again from the next batch)."""
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread, self._queue = None, None
            self._stop.clear()


def real_batches(data: Data, labels: bool, device: torch.device, batch_size: int, seed: int,
                 budget_gib: float | None, streamed: bool | None = None) -> DeviceBatches | StreamedBatches:
    """The dataset on the device when it fits the budget, else streamed from the host; ``streamed`` forces the
    choice (a resumed run keeps the way it drew its batches, whatever memory is free now)."""
    if streamed is False or (streamed is None and data.nbytes <= memory_budget(device, budget_gib)):
        return DeviceBatches(data, labels, device)
    return StreamedBatches(data, labels, device, batch_size, seed)
