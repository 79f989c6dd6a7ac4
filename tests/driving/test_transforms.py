"""Augmentation moves boxes, their flags and masks with the pixels; batches keep their own sizes and box counts."""

import pytest
import torch

from zoo.driving.transforms import RandomRescale, SegmentationTransform
from zoo.problems.detection.transforms import DetectionTransform, collate_detection, objects_only
from zoo.errors import ConfigError

RED, GREEN, BLUE = (230, 20, 20), (20, 230, 20), (20, 20, 230)
BOXES = [[10.0, 8.0, 40.0, 30.0], [55.0, 20.0, 90.0, 60.0]]


def _scene() -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    image = torch.full((3, 64, 96), 90, dtype=torch.uint8)
    for (x0, y0, x1, y1), colour in zip(BOXES, (RED, GREEN)):
        image[:, int(y0):int(y1), int(x0):int(x1)] = torch.tensor(colour, dtype=torch.uint8)[:, None, None]
    return image, {"boxes": torch.tensor(BOXES), "labels": torch.tensor([1, 2])}


def _extent(image: torch.Tensor, colour: tuple[int, int, int]) -> list[float] | None:
    """Box around the pixels close to ``colour`` (image in [0, 1])."""
    target = torch.tensor(colour, dtype=torch.float32)[:, None, None] / 255
    close = ((image - target).abs().max(0).values < 0.15).nonzero()
    if len(close) == 0:
        return None
    (y0, x0), (y1, x1) = close.min(0).values.tolist(), close.max(0).values.tolist()
    return [x0, y0, x1 + 1, y1 + 1]


@pytest.mark.parametrize("seed", range(12))
def test_flips_and_zooms_keep_boxes_on_their_objects(seed):
    transform = DetectionTransform(hflip=True, scale_range=(0.6, 1.6))
    torch.manual_seed(seed)
    image, target = transform(_scene())
    assert image.shape == (3, 64, 96) and image.dtype == torch.float32 and 0 <= image.min() and image.max() <= 1
    assert type(target["boxes"]) is torch.Tensor and len(target["boxes"]) == len(target["labels"])
    for box, label in zip(target["boxes"].tolist(), target["labels"].tolist()):
        seen = _extent(image, RED if label == 1 else GREEN)
        assert seen is not None and max(abs(a - b) for a, b in zip(seen, box)) <= 2.0, (seed, box, seen)


def test_ignore_flags_stay_with_their_boxes_through_flips_zooms_and_drops():
    """A car, a pedestrian and, in the corner, an ignore region labelled car: each output box is found by its colour,
    and its flag must be that colour's, including when zooming in has pushed the corner out and its box was dropped."""
    boxes = [[10.0, 8.0, 40.0, 30.0], [55.0, 20.0, 70.0, 40.0], [78.0, 46.0, 94.0, 62.0]]
    image = torch.full((3, 64, 96), 90, dtype=torch.uint8)
    for (x0, y0, x1, y1), colour in zip(boxes, (RED, GREEN, BLUE)):
        image[:, int(y0):int(y1), int(x0):int(x1)] = torch.tensor(colour, dtype=torch.uint8)[:, None, None]
    target = {"boxes": torch.tensor(boxes), "labels": torch.tensor([1, 2, 1]), "iscrowd": torch.tensor([0, 0, 1])}
    transform, dropped = DetectionTransform(hflip=True, scale_range=(0.6, 1.6)), 0
    for seed in range(16):
        torch.manual_seed(seed)
        out_image, out = transform((image, target))
        assert out["iscrowd"].dtype == torch.int64 and len(out["iscrowd"]) == len(out["labels"]) == len(out["boxes"])
        for box, label, crowd in zip(out["boxes"].tolist(), out["labels"].tolist(), out["iscrowd"].tolist()):
            colour = BLUE if crowd else (RED if label == 1 else GREEN)
            seen = _extent(out_image, colour)
            assert seen is not None and max(abs(a - b) for a, b in zip(seen, box)) <= 2.0, (seed, box, crowd, seen)
        dropped += 1 not in out["iscrowd"].tolist()
    assert dropped > 0  # some zooms pushed the ignore region out, and its flag went with it
    _, plain = DetectionTransform()((image, {k: v for k, v in target.items() if k != "iscrowd"}))
    assert plain["iscrowd"].tolist() == [0, 0, 0]  # no flags given: every box is an object
    [objects] = objects_only([target])
    assert set(objects) == {"boxes", "labels"} and objects["boxes"].tolist() == target["boxes"][:2].tolist()


def test_a_box_pushed_out_of_the_frame_is_dropped_with_its_label():
    image, target = _scene()
    corner = [94.0, 60.0, 96.0, 64.0]
    target = {"boxes": torch.tensor([[10.0, 8.0, 40.0, 30.0], corner]), "labels": torch.tensor([1, 2])}
    dropped = 0
    for seed in range(20):
        torch.manual_seed(seed)
        out = DetectionTransform(scale_range=(1.5, 1.5))((image, target))[1]
        assert len(out["boxes"]) == len(out["labels"])
        dropped += 2 not in out["labels"].tolist()
    assert dropped >= 15  # zoomed in 1.5x, the corner is cropped away unless the crop lands exactly on it


def test_photometric_jitter_changes_pixels_not_boxes():
    torch.manual_seed(0)
    image, target = DetectionTransform(photometric=0.5)(_scene())
    plain, _ = DetectionTransform()(_scene())
    assert torch.equal(target["boxes"], torch.tensor(BOXES)) and not torch.allclose(image, plain)


def test_segmentation_masks_follow_the_image():
    image, _ = _scene()
    mask = torch.zeros(64, 96, dtype=torch.int64)
    for index, (x0, y0, x1, y1) in enumerate(BOXES, 1):
        mask[int(y0):int(y1), int(x0):int(x1)] = index
    transform = SegmentationTransform(hflip=True, scale_range=(0.6, 1.6), mean=(0, 0, 0), std=(1, 1, 1))
    for seed in range(6):
        torch.manual_seed(seed)
        out, out_mask = transform((image, mask))
        assert out_mask.dtype == torch.int64 and out_mask.shape == (64, 96)
        red = (out[0] > 0.7) & (out[1] < 0.3)
        agree = (red == (out_mask == 1)).float().mean()
        assert agree > 0.97 and set(out_mask.unique().tolist()) <= {0, 1, 2, 255}


def test_collate_keeps_sizes_and_box_counts():
    a = (torch.zeros(3, 20, 30), {"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.int64)})
    b = (torch.zeros(3, 40, 10), {"boxes": torch.ones(3, 4), "labels": torch.ones(3, dtype=torch.int64)})
    images, targets = collate_detection([a, b])
    assert [i.shape[1:] for i in images] == [(20, 30), (40, 10)] and [len(t["boxes"]) for t in targets] == [0, 3]


def test_bad_scale_range():
    with pytest.raises(ConfigError, match="0 < low <= high"):
        RandomRescale((1.5, 0.5))
