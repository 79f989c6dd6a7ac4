"""Sliced inference: tiles cover the image with the overlap asked, boxes come back in image pixels, NMS merges."""

import torch

from zoo.problems.detection.slicing import SliceSettings, merge, sliced_detections, tile_starts, tiles


def test_tiles_cover_the_image_and_overlap():
    assert tile_starts(192, 96, 0.25) == [0, 72, 96]
    assert tile_starts(80, 96, 0.25) == [0]  # smaller than a tile: the image itself
    windows = tiles(100, 150, SliceSettings(64, 0.5))
    covered = torch.zeros(100, 150, dtype=torch.bool)
    for x0, y0, x1, y1 in windows:
        assert x1 - x0 == 64 and y1 - y0 == 64 and x1 <= 150 and y1 <= 100
        covered[y0:y1, x0:x1] = True
    assert covered.all()


class _FindsBright(torch.nn.Module):
    """A stand-in detector: one box around the bright pixels of each input, scored by their share of the input."""

    detections_per_img = 10

    def forward(self, images):
        out = []
        for image in images:
            ys, xs = torch.nonzero(image[0] > 0.5, as_tuple=True)
            if len(xs) == 0:
                out.append({"boxes": torch.zeros(0, 4), "scores": torch.zeros(0), "labels": torch.zeros(0, dtype=torch.long)})
                continue
            box = torch.tensor([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]], dtype=torch.float32)
            out.append({"boxes": box, "scores": torch.tensor([len(xs) / image[0].numel()]), "labels": torch.tensor([1])})
        return out


def test_sliced_boxes_are_in_image_pixels_and_duplicates_merge():
    image = torch.zeros(3, 64, 64)
    image[:, 40:44, 50:54] = 1.0  # a 4x4 object in the corner, inside several overlapping tiles
    found = sliced_detections(_FindsBright(), [image], SliceSettings(32, 0.5))[0]
    assert found["boxes"].tolist() == [[50.0, 40.0, 54.0, 44.0]]  # the same box from every tile, merged into one
    assert float(found["scores"][0]) == 16 / 32**2  # a tile's score, higher than the whole image's 16 / 64**2


def test_merge_keeps_the_best_per_class():
    a = {"boxes": torch.tensor([[0.0, 0, 10, 10]]), "scores": torch.tensor([0.9]), "labels": torch.tensor([1])}
    b = {"boxes": torch.tensor([[1.0, 1, 10, 10], [1.0, 1, 10, 10]]), "scores": torch.tensor([0.8, 0.7]),
         "labels": torch.tensor([1, 2])}
    merged = merge([a, b], iou=0.5, limit=10)
    assert merged["labels"].tolist() == [1, 2] and merged["scores"].tolist() == [0.8999999761581421, 0.699999988079071]
