"""The embedded phantom scans: deterministic, balanced, masks that agree with the labels, drawn lazily."""

from __future__ import annotations

import torch

from zoo.medical.phantoms import CLASSES, MASK_CLASSES, PhantomDataset, generate, phantom


def test_the_same_arguments_give_the_same_scans_and_other_seeds_do_not():
    a, b, c = generate(40, 1, 32), generate(40, 1, 32), generate(40, 2, 32)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not torch.equal(a[0], c[0])
    images, labels, masks = a
    assert images.shape == (40, 1, 32, 32) and images.dtype == torch.uint8 and masks.shape == (40, 32, 32)


def test_labels_are_balanced_and_masks_agree_with_them():
    images, labels, masks = generate(300, 0, 48)
    assert torch.bincount(labels).tolist() == [100, 100, 100]
    lesion_pixels = (masks == 2).flatten(1).sum(1)
    assert (lesion_pixels[labels == 0] == 0).all() and (lesion_pixels[labels > 0] > 0).all()
    organ = (masks >= 1).flatten(1).float().mean(1)
    assert (organ > 0.05).all() and (organ < 0.4).all()
    cyst, tumour = labels == 1, labels == 2
    cyst_contrast = images[cyst, 0][masks[cyst] == 2].float().mean() - images[cyst, 0][masks[cyst] == 1].float().mean()
    tumour_contrast = (images[tumour, 0][masks[tumour] == 2].float().mean()
                       - images[tumour, 0][masks[tumour] == 1].float().mean())
    assert cyst_contrast < -15 and tumour_contrast > 15  # in 8-bit grey levels


def test_multi_label_flags_each_lesion_type():
    _, labels, masks = generate(200, 0, 32, multi_label=True)
    assert labels.shape == (200, 2) and labels.sum(0).tolist() == [100.0, 100.0]
    normal = labels.sum(1) == 0
    assert ((masks == 2).flatten(1).any(1) == ~normal).all()


def test_volumes():
    images, labels, masks = generate(3, 0, 24, spatial_dims=3)
    assert images.shape == (3, 1, 24, 24, 24) and masks.shape == (3, 24, 24, 24)
    assert (masks == 1).any() and ((masks == 2).flatten(1).any(1) == (labels > 0)).all()


def test_splits_differ_and_items_are_drawn_a_chunk_at_a_time():
    train, val = phantom("train", num_train=600, image_size=32), phantom("val", num_val=100, image_size=32)
    assert train.classes == list(CLASSES) and train.mask_classes == list(MASK_CLASSES) and len(val.dataset) == 100
    assert not torch.equal(train.dataset[0]["image"], val.dataset[0]["image"])
    fresh = PhantomDataset(600, 7, 32)
    item = fresh[3]
    assert len(fresh.chunks) == 1 and set(item) == {"image", "label", "mask"}
    assert torch.equal(fresh.materialise()[0][3], item["image"]) and len(fresh.chunks) == 3
