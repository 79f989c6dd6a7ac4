"""Data loading shared by every task: epoch-seeded shuffling that can start mid-epoch, and augmentation
randomness tied to (seed, epoch, index) so that a resumed run, any worker count and any rank see the same samples.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, Sampler


class EpochSampler(Sampler):
    """Yields ``(epoch, index)`` pairs: a permutation fixed by (seed, epoch), sharded by rank, skippable.

    ``start`` skips that many of this rank's samples, so a run resumed mid-epoch continues at the next batch
    without loading the batches it already trained on.

    With ``lengths`` (a size per item: tokens, frames), consecutive runs of ``batch_size`` samples hold items of
    similar size, so padded batches waste little: shuffled, each pool of ``BUCKET_POOL`` batches is sorted by size
    and its batches are shuffled over the epoch; unshuffled, the order is simply by size.
    """

    BUCKET_POOL = 50  # batches sorted together: larger pools pad less, smaller ones keep batches more random

    def __init__(
        self, size: int, shuffle: bool, seed: int = 0, rank: int = 0, world_size: int = 1, pad: bool = True,
        lengths: Sequence[int] | None = None, batch_size: int = 1,
    ):
        self.size, self.shuffle, self.seed, self.pad = size, shuffle, seed, pad
        self.rank, self.world_size = rank, world_size
        self.epoch, self.start = 0, 0
        if lengths is not None and len(lengths) != size:
            raise ValueError(f"lengths has {len(lengths)} entries for {size} items")
        self.lengths, self.batch_size = lengths, batch_size

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        self.epoch, self.start = epoch, start

    def per_rank(self) -> int:
        if self.pad:
            return math.ceil(self.size / self.world_size)
        return len(range(self.rank, self.size, self.world_size))

    def __len__(self) -> int:
        return max(self.per_rank() - self.start, 0)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        if self.shuffle:
            order = torch.randperm(self.size, generator=generator).tolist()
        else:
            order = list(range(self.size))
        if self.pad:  # every rank gets the same count, as with DistributedSampler
            total = math.ceil(self.size / self.world_size) * self.world_size
            order += order[: total - len(order)]
        if self.lengths is not None:
            order = self._by_length(order, generator)
        mine = order[self.rank :: self.world_size]
        return iter((self.epoch, index) for index in mine[self.start :])

    def _by_length(self, order: list[int], generator: torch.Generator) -> list[int]:
        size_of = self.lengths.__getitem__  # type: ignore[union-attr]
        if not self.shuffle:
            return sorted(order, key=size_of)
        group = self.batch_size * self.world_size  # one batch on every rank
        pool = group * self.BUCKET_POOL
        groups = []
        for start in range(0, len(order), pool):
            chunk = sorted(order[start : start + pool], key=size_of)
            groups += [chunk[i : i + group] for i in range(0, len(chunk), group)]
        last = groups.pop() if groups and len(groups[-1]) < group else []  # a short group stays last
        shuffled = [groups[g] for g in torch.randperm(len(groups), generator=generator).tolist()]
        return [index for g in shuffled for index in g] + last


class SeededDataset(Dataset):
    """Applies ``transform`` with torch's RNG seeded from (seed, epoch, index), then restores the caller's RNG.

    Items may be requested by plain index (evaluation) or by ``(epoch, index)`` from :class:`EpochSampler`.
    """

    def __init__(self, dataset: Dataset, transform: Callable[[Any], Any] | None, seed: int = 0):
        self.dataset, self.transform, self.seed = dataset, transform, seed

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, key: int | tuple[int, int]) -> Any:
        return self.__getitems__([key])[0]

    def __getitems__(self, keys: Sequence[int | tuple[int, int]]) -> list[Any]:
        """A whole batch: the DataLoader asks for it at once, so the caller's RNG is saved and restored once."""
        pairs = [key if isinstance(key, tuple) else (0, key) for key in keys]
        items = [self.dataset[index] for _, index in pairs]  # any randomness of the dataset itself is the caller's
        if self.transform is None:
            return items
        generator = torch.default_generator  # saved and restored by hand: fork_rng costs more than small transforms
        state = generator.get_state()
        try:
            transformed = []
            for (epoch, index), item in zip(pairs, items):
                generator.manual_seed(hash((self.seed, epoch, index)) & 0x7FFF_FFFF_FFFF_FFFF)
                transformed.append(self.transform(item))
            return transformed
        finally:
            generator.set_state(state)


def make_loader(
    dataset: Dataset,
    batch_size: int,
    sampler: Sampler,
    collate_fn: Callable | None,
    num_workers: int,
    pin_memory: bool,
    seed: int,
) -> DataLoader:
    """A DataLoader that never draws from the global RNG (its own generator), so training randomness is exact."""
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        collate_fn=collate_fn,
        num_workers=num_workers,
        pin_memory=pin_memory,
        persistent_workers=num_workers > 0,
        generator=torch.Generator().manual_seed(seed),
    )


class SampleRandom:
    """Random numbers for a batch that depend only on (seed, epoch, item index, stream), never on the batch.

    A counter-based hash rather than a generator: the same item gets the same augmentation whatever batch, rank or
    resumed position it lands in, so device-side augmentation keeps resumption exact and ranks equivalent.
    """

    MASK = 0xFFFFFFFF

    def __init__(self, seed: int, epoch: int, index: torch.Tensor):
        self.index = index.to(torch.int64)
        self.base = (seed * 0x9E3779B1 + epoch * 0x85EBCA77) & self.MASK

    def uniform(self, stream: int) -> torch.Tensor:
        """One float in [0, 1) per item, independent across streams."""
        x = (self.index * 0x27D4EB2F + (self.base ^ (stream * 0x165667B1 & self.MASK))) & self.MASK
        for _ in range(2):  # a 32-bit integer hash; products stay below 2**59, so int64 never overflows
            x = (((x >> 16) ^ x) * 0x45D9F3B) & self.MASK
        x = (x >> 16) ^ x
        return x.to(torch.float64).div_(2.0**32).to(torch.float32)

    def integers(self, stream: int, high: int) -> torch.Tensor:
        """One integer in [0, high) per item."""
        return (self.uniform(stream) * high).long().clamp_(max=high - 1)


class DeviceLoader:
    """Batches gathered from a split's tensors held on the device and transformed there, a whole batch at a time.

    For datasets that fit in memory (the embedded ones, CIFAR, MNIST) this removes per-item Python work and
    host-to-device copies from every step. Order and sharding come from the same :class:`EpochSampler` as the
    item-by-item loader; randomness from :class:`SampleRandom`.
    """

    def __init__(
        self,
        tensors: Sequence[torch.Tensor],
        sampler: EpochSampler,
        batch_size: int,
        transform: Callable[[tuple[torch.Tensor, ...], SampleRandom], Any],
        seed: int,
        device: torch.device,
    ):
        self.tensors = tuple(t.to(device) for t in tensors)
        self.sampler, self.batch_size, self.transform, self.seed = sampler, batch_size, transform, seed
        self.device = device

    def __len__(self) -> int:
        return math.ceil(len(self.sampler) / self.batch_size)

    def __iter__(self) -> Iterator[Any]:
        pairs = list(self.sampler)
        for start in range(0, len(pairs), self.batch_size):
            chunk = pairs[start : start + self.batch_size]
            index = torch.tensor([i for _, i in chunk], dtype=torch.int64)
            items = tuple(t[index.to(t.device)] for t in self.tensors)
            yield self.transform(items, SampleRandom(self.seed, chunk[0][0], index.to(self.device)))


def tensors_of(dataset: Any) -> tuple[torch.Tensor, ...] | None:
    """A dataset's items as tensors indexed by their first dimension, when it holds them so (``tensors``)."""
    tensors = getattr(dataset, "tensors", None)
    return tuple(tensors) if tensors else None


def fits_on(device: torch.device, tensors: Sequence[torch.Tensor], fraction: float = 0.25) -> bool:
    """Whether the tensors take at most ``fraction`` of the device's free memory (always true on the CPU)."""
    if device.type != "cuda":
        return True
    free, _ = torch.cuda.mem_get_info(device)
    return sum(t.numel() * t.element_size() for t in tensors) <= fraction * free
