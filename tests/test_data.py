"""EpochSampler with item lengths: batches of similar size, still a seeded permutation that resumes exactly."""

import random

import pytest
import torch
from torch.utils.data import Dataset

from zoo.data import EpochSampler, SeededDataset, make_loader


def _lengths(n: int, seed: int = 0) -> list[int]:
    rng = random.Random(seed)
    return [rng.randint(1, 500) for _ in range(n)]


def _indices(sampler: EpochSampler) -> list[int]:
    return [index for _, index in sampler]


def _mean_padding(order: list[int], lengths: list[int], batch: int) -> float:
    batches = [order[i : i + batch] for i in range(0, len(order), batch)]
    return sum(max(lengths[i] for i in b) * len(b) - sum(lengths[i] for i in b) for b in batches) / len(order)


def test_bucketed_epoch_is_a_permutation_with_far_less_padding():
    lengths = _lengths(1000)
    plain = EpochSampler(1000, True, seed=3)
    bucketed = EpochSampler(1000, True, seed=3, lengths=lengths, batch_size=16)
    order = _indices(bucketed)
    assert sorted(order) == list(range(1000))
    assert _mean_padding(order, lengths, 16) < 0.2 * _mean_padding(_indices(plain), lengths, 16)


def test_bucketed_order_depends_on_seed_and_epoch_only():
    lengths = _lengths(300)

    def order(seed: int, epoch: int) -> list[int]:
        sampler = EpochSampler(300, True, seed=seed, lengths=lengths, batch_size=8)
        sampler.set_epoch(epoch)
        return _indices(sampler)

    assert order(0, 1) == order(0, 1)
    assert order(0, 1) != order(0, 2) and order(0, 1) != order(1, 1)


def test_bucketed_resume_skips_exactly_what_was_consumed():
    lengths = _lengths(200)
    sampler = EpochSampler(200, True, seed=5, lengths=lengths, batch_size=8)
    sampler.set_epoch(2)
    full = _indices(sampler)
    sampler.set_epoch(2, start=64)
    assert _indices(sampler) == full[64:]
    assert len(sampler) == 200 - 64


@pytest.mark.parametrize("world_size", [2, 3])
def test_bucketed_ranks_share_the_epoch_and_batch_alike(world_size):
    lengths = _lengths(240)
    shards = []
    for rank in range(world_size):
        sampler = EpochSampler(240, True, seed=1, rank=rank, world_size=world_size, lengths=lengths, batch_size=8)
        shards.append(_indices(sampler))
    assert sorted(i for shard in shards for i in shard) == list(range(240))
    # Batch b of every rank comes from the same sorted group, so the ranks' batches have alike lengths.
    for b in range(0, len(shards[0]), 8):
        maxima = [max(lengths[i] for i in shard[b : b + 8]) for shard in shards]
        assert max(maxima) - min(maxima) < 60


def test_unshuffled_lengths_sort_the_evaluation_order():
    lengths = _lengths(50)
    order = _indices(EpochSampler(50, False, pad=False, lengths=lengths, batch_size=10))
    assert sorted(order) == list(range(50))
    assert [lengths[i] for i in order] == sorted(lengths)


def test_lengths_must_match_the_dataset():
    with pytest.raises(ValueError, match="lengths has 3 entries for 4 items"):
        EpochSampler(4, True, lengths=[1, 2, 3])


def _augment_batch(indices, images, padding=2, hflip=True, epoch=3):
    import torch

    from zoo.data import SampleRandom
    from zoo.vision.transforms import BatchAugment

    augment = BatchAugment([0.0, 0.0, 0.0], [1.0, 1.0, 1.0], padding, hflip)
    index = torch.tensor(indices)
    out, _ = augment((images[index], torch.zeros(len(indices))), SampleRandom(7, epoch, index))
    return out


def test_device_augmentation_is_a_crop_of_the_padded_image_maybe_flipped():
    import torch
    import torch.nn.functional as F

    images = torch.randint(0, 256, (64, 3, 12, 12), dtype=torch.uint8)
    out = _augment_batch(list(range(64)), images)
    padded = F.pad(images.float() / 255, (2, 2, 2, 2), mode="reflect")
    crops = {(dy, dx, flip) for dy in range(5) for dx in range(5) for flip in (False, True)}
    seen = set()
    for i in range(64):
        found = [(dy, dx, f) for dy, dx, f in crops
                 if torch.allclose(out[i], (lambda c: c.flip(-1) if f else c)(padded[i, :, dy:dy + 12, dx:dx + 12]))]
        assert found, f"image {i} is not a crop of its padded source"
        seen.add(found[0])
    assert len(seen) > 20  # offsets and flips vary across images


def test_device_augmentation_depends_on_the_item_not_its_batch():
    import torch

    images = torch.randint(0, 256, (32, 3, 8, 8), dtype=torch.uint8)
    alone = _augment_batch([5], images)
    among = _augment_batch([9, 5, 30], images)
    assert torch.equal(alone[0], among[1])
    assert not torch.equal(_augment_batch([5], images, epoch=4)[0], alone[0]) or not torch.equal(
        _augment_batch([5], images, epoch=5)[0], alone[0])


def test_device_loader_follows_the_sampler_and_its_resume_point():
    import torch

    from zoo.data import DeviceLoader

    values = torch.arange(10) * 10
    sampler = EpochSampler(10, shuffle=True, seed=1)
    loader = DeviceLoader([values], sampler, 4, lambda items, random: items[0], 0, torch.device("cpu"))
    sampler.set_epoch(2)
    full = torch.cat(list(loader))
    assert sorted(full.tolist()) == values.tolist() and len(loader) == 3
    sampler.set_epoch(2, start=4)
    assert torch.equal(torch.cat(list(loader)), full[4:]) and len(loader) == 2


class _NoisyItems(Dataset):
    """A dataset that draws from the global RNG itself, as user datasets may."""

    def __len__(self) -> int:
        return 8

    def __getitem__(self, index: int) -> torch.Tensor:
        return torch.full((1,), float(index)) + torch.rand(1)


def test_batched_fetch_seeds_each_transform_by_item_and_leaves_the_dataset_on_the_callers_rng():
    dataset = SeededDataset(_NoisyItems(), lambda item: (item, torch.rand(2)), seed=7)
    loader = make_loader(dataset, 4, EpochSampler(8, shuffle=True, seed=7), None, 0, False, seed=7)
    torch.manual_seed(0)
    batches = list(loader)
    torch.manual_seed(0)
    assert all(torch.equal(a[1], b[1]) for a, b in zip(batches, list(loader)))
    # a transform's numbers depend only on (seed, epoch, index): the same as fetching that item alone
    items = torch.cat([items.flatten() for items, _ in batches])
    noise = torch.cat([noise for _, noise in batches])
    for position, index in enumerate(items.floor().long().tolist()):
        torch.testing.assert_close(noise[position], dataset[(0, index)][1])
    # the dataset's own draws are the caller's stream, in fetch order, as when each item was fetched alone
    torch.manual_seed(0)
    torch.testing.assert_close(items - items.floor(), torch.rand(8))
