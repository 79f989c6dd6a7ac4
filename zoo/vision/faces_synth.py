"""Synthetic faces: generated identities, each seen many times, so that face recognition trains and is measured
offline.

An identity is a fixed draw of face shape (width, height, jaw), skin, hair and eye colour, hair style (hairline,
length, side parting), eye spacing, height and size, brow thickness and slant, nose length and width, mouth width,
height and lip tone, and accessories (glasses with a frame colour, a beard, a mole). Every image of it varies the
pose (roll, a yaw that slides the inner features sideways, scale, position), the lighting (brightness, a directional
gradient, a colour cast), the expression (eye openness, smile, open mouth, raised brows), the background and the
pixel noise. Colour alone does not tell identities apart: the lighting moves colours as far as the skin tones of
nearby identities lie from one another, so an embedding must combine colour with geometry.

Training and evaluation identities are drawn from separate random streams (train from even seeds, evaluation from
odd ones), so a model is always measured on people it never saw: it has to learn an embedding, not a classifier.
Images are rasterised for a whole batch at once from signed distances on the pixel grid, as in
:mod:`zoo.vision.shapes`.
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch
from torch import Tensor

NUM_TRAIN_IDENTITIES = 400
NUM_VAL_IDENTITIES = 100
TRAIN_IMAGES_PER_IDENTITY = 16
VAL_IMAGES_PER_IDENTITY = 10
IMAGE_SIZE = 32

# Per-channel statistics of the training images with the defaults, in [0, 1].
MEAN: tuple[float, float, float] = (0.533, 0.469, 0.424)
STD: tuple[float, float, float] = (0.258, 0.244, 0.246)

_CHUNK = 512
_SKIN = torch.tensor([[0.98, 0.85, 0.74], [0.87, 0.68, 0.54], [0.68, 0.48, 0.34], [0.42, 0.28, 0.19]])
_HAIR = torch.tensor([[0.07, 0.06, 0.06], [0.30, 0.19, 0.10], [0.55, 0.35, 0.17], [0.85, 0.70, 0.40],
                      [0.62, 0.22, 0.10], [0.72, 0.72, 0.72]])
_IRIS = torch.tensor([[0.30, 0.18, 0.08], [0.20, 0.40, 0.70], [0.25, 0.50, 0.30], [0.45, 0.47, 0.50]])
_FRAME = torch.tensor([[0.05, 0.05, 0.05], [0.80, 0.65, 0.20], [0.65, 0.10, 0.12], [0.15, 0.25, 0.60]])


def identities(num: int, generator: torch.Generator) -> dict[str, Tensor]:
    """The fixed traits of ``num`` identities, one row each."""

    def uniform(low: float, high: float, *shape: int) -> Tensor:
        return torch.rand(num, *shape, generator=generator) * (high - low) + low

    def palette(colours: Tensor, jitter: float) -> Tensor:
        """A continuous blend of two neighbouring palette colours, jittered."""
        position = uniform(0, len(colours) - 1)
        low = position.floor().long().clamp(max=len(colours) - 2)
        t = (position - low).unsqueeze(1)
        return (colours[low] * (1 - t) + colours[low + 1] * t + uniform(-jitter, jitter, 3)).clamp(0, 1)

    hair = _HAIR[torch.randint(len(_HAIR), (num,), generator=generator)]
    return {
        "face_w": uniform(0.52, 0.72), "face_h": uniform(0.70, 0.88), "jaw": uniform(0.0, 0.45),
        "skin": palette(_SKIN, 0.04),
        "hair": (hair + uniform(-0.06, 0.06, 3)).clamp(0, 1),
        "hairline": uniform(0.25, 0.62), "hair_length": uniform(0, 1), "parting": uniform(-0.5, 0.5),
        "eye_sep": uniform(0.18, 0.36), "eye_y": uniform(0.02, 0.22), "eye_w": uniform(0.08, 0.14),
        "iris": (_IRIS[torch.randint(len(_IRIS), (num,), generator=generator)] + uniform(-0.05, 0.05, 3)).clamp(0, 1),
        "brow_t": uniform(0.025, 0.065), "brow_slant": uniform(-0.35, 0.35),
        "nose_len": uniform(0.12, 0.32), "nose_w": uniform(0.05, 0.13),
        "mouth_y": uniform(-0.50, -0.32), "mouth_w": uniform(0.14, 0.30), "lip": uniform(0.55, 0.95),
        "glasses": (uniform(0, 1) < 0.25).float(),
        "frame": _FRAME[torch.randint(len(_FRAME), (num,), generator=generator)],
        "beard": (uniform(0, 1) < 0.2).float(),
        "mole": (uniform(0, 1) < 0.35).float(), "mole_x": uniform(-0.4, 0.4), "mole_y": uniform(-0.4, 0.1),
    }


def _grid(image_size: int) -> tuple[Tensor, Tensor]:
    """Pixel-centre coordinates in [-1, 1], y pointing up."""
    t = (torch.arange(image_size, dtype=torch.float32) + 0.5) / image_size * 2 - 1
    return t.view(1, 1, -1), -t.view(1, -1, 1)


def _ellipse(x: Tensor, y: Tensor, cx: Tensor | float, cy: Tensor | float, rx: Tensor | float,
             ry: Tensor | float) -> Tensor:
    """Approximate signed distance to an axis-aligned ellipse (exact on its axes)."""
    rx, ry = torch.as_tensor(rx), torch.as_tensor(ry)
    return (torch.hypot((x - cx) / rx, (y - cy) / ry) - 1) * torch.minimum(rx, ry)


def _render(traits: dict[str, Tensor], generator: torch.Generator, image_size: int) -> Tensor:
    n = traits["face_w"].shape[0]
    px = image_size / 2  # pixels per unit of the [-1, 1] frame
    gx, gy = _grid(image_size)

    def uniform(low: float, high: float, *shape: int) -> Tensor:
        return torch.rand(n, *shape, generator=generator) * (high - low) + low

    def col(name: str) -> Tensor:
        return traits[name].view(n, 1, 1)

    def cover(distance: Tensor) -> Tensor:
        """Fraction of a pixel inside, from the signed distance of its centre in frame units."""
        return (0.5 - distance * px).clamp(0, 1)

    # Background: a gradient between two random colours.
    c0, c1 = uniform(0, 1, 3), uniform(0, 1, 3)
    direction = uniform(0, 2 * math.pi).view(n, 1, 1)
    ramp = ((gx * torch.cos(direction) + gy * torch.sin(direction)) * 0.5 + 0.5).unsqueeze(1)
    image = c0.view(n, 3, 1, 1) + (c1 - c0).view(n, 3, 1, 1) * ramp

    def paint(alpha: Tensor, colour: Tensor) -> None:
        image.lerp_(colour.view(n, 3, 1, 1).expand_as(image), alpha.unsqueeze(1))

    # Pose: the inverse of a similarity transform maps pixels into the face's frame; yaw slides inner features.
    scale = uniform(0.82, 1.0).view(n, 1, 1)
    roll = uniform(-0.3, 0.3).view(n, 1, 1)
    cx, cy = uniform(-0.08, 0.08).view(n, 1, 1), uniform(-0.08, 0.08).view(n, 1, 1)
    dx, dy = (gx - cx) / scale, (gy - cy) / scale
    x = torch.cos(roll) * dx + torch.sin(roll) * dy
    y = -torch.sin(roll) * dx + torch.cos(roll) * dy
    yaw = uniform(-0.1, 0.1).view(n, 1, 1)
    fx = x - yaw  # the inner features' frame

    # Expression.
    openness = uniform(0.45, 1.0).view(n, 1, 1)
    smile = uniform(-0.6, 1.2).view(n, 1, 1)
    mouth_open = (uniform(0, 1) * (uniform(0, 1) < 0.4).float()).view(n, 1, 1)
    brow_raise = uniform(-0.02, 0.05).view(n, 1, 1)

    fw, fh, skin, hair = col("face_w"), col("face_h"), traits["skin"], traits["hair"]
    # Long hair behind the head and the neck.
    long_hair = _ellipse(x, y, 0, -0.05 - 0.25 * col("hair_length"), fw + 0.14, fh * 0.75 + 0.3 * col("hair_length"))
    paint(cover(long_hair) * (col("hair_length") > 0.45).float(), hair)
    neck = torch.maximum((x.abs() - fw * 0.55), (y + fh * 0.5))
    paint(cover(neck), skin * 0.82)
    ears = torch.minimum(_ellipse(x, y, fw, 0.05, 0.09, 0.16), _ellipse(x, y, -fw, 0.05, 0.09, 0.16))
    paint(cover(ears), skin * 0.93)
    # The face: an ellipse whose lower half narrows by the jaw factor.
    narrow = 1 - col("jaw") * (-y / fh).clamp(0, 1)
    face = _ellipse(x / narrow, y, 0, 0, fw, fh)
    paint(cover(face), skin)
    # Hair on top: the head's ellipse above a hairline tilted by the parting.
    hairline = col("hairline") * fh + col("parting") * 0.25 * x
    top = torch.maximum(_ellipse(x, y, 0, 0.03, fw + 0.05, fh + 0.07), hairline - y)
    paint(cover(top), hair)
    beard = torch.maximum(face, y - (col("mouth_y") + 0.06))
    paint(cover(beard) * col("beard") * 0.9, hair * 0.8)

    # Eyes: whites, irises, pupils; openness squeezes them vertically.
    ey, ew, sep = col("eye_y"), col("eye_w"), col("eye_sep")
    eh = ew * 0.6 * openness
    for side in (-1.0, 1.0):
        ex = side * sep
        white = _ellipse(fx, y, ex, ey, ew, eh)
        paint(cover(white), torch.full((n, 3), 0.95))
        iris = torch.maximum(torch.hypot(fx - ex, y - ey) - ew * 0.5, white)
        paint(cover(iris), traits["iris"])
        pupil = torch.maximum(torch.hypot(fx - ex, y - ey) - ew * 0.22, white)
        paint(cover(pupil), torch.full((n, 3), 0.05))
        # Brows: a slanted bar above each eye.
        bx, by = fx - ex, y - (ey + ew * 0.9 + 0.05 + brow_raise)
        slant = col("brow_slant") * side
        across = torch.cos(slant) * bx + torch.sin(slant) * by
        up = -torch.sin(slant) * bx + torch.cos(slant) * by
        brow = torch.maximum(across.abs() - ew * 1.1, up.abs() - col("brow_t"))
        paint(cover(brow), hair * 0.6)
        lens = (torch.hypot(fx - ex, y - ey) - (ew + 0.06)).abs() - 0.022
        paint(cover(lens) * col("glasses"), traits["frame"])
    bridge = torch.maximum(fx.abs() - (sep - ew - 0.06).clamp(min=0), (y - ey).abs() - 0.018)
    paint(cover(bridge) * col("glasses"), traits["frame"])

    # Nose: a shaded wedge widening downwards, and two nostrils.
    nose_top, nose_len, nose_w = ey - 0.05, col("nose_len"), col("nose_w")
    depth = ((nose_top - y) / nose_len).clamp(0, 1)
    nose = torch.maximum(fx.abs() - nose_w * (0.35 + 0.65 * depth), torch.maximum(y - nose_top, nose_top - nose_len - y))
    paint(cover(nose) * 0.6, skin * 0.72)
    for side in (-1.0, 1.0):
        nostril = torch.hypot(fx - side * nose_w * 0.55, y - (nose_top - nose_len)) - 0.03
        paint(cover(nostril), skin * 0.4)

    # Mouth: lips bent by the smile, a dark opening when the mouth is open.
    my, mw = col("mouth_y"), col("mouth_w")
    bend = y - my - smile * 0.9 * (fx / mw).clamp(-1, 1) ** 2 * 0.08
    lips = _ellipse(fx, bend, 0, 0, mw, 0.035 + 0.07 * mouth_open)
    lip = skin * traits["lip"].unsqueeze(1) + torch.tensor([0.12, -0.02, -0.02])
    paint(cover(lips), lip.clamp(0, 1))
    inside = _ellipse(fx, bend, 0, 0, mw * 0.8, 0.006 + 0.06 * mouth_open)
    paint(cover(inside), torch.full((n, 3), 0.12))
    mole = torch.hypot(fx - col("mole_x") * fw, y - col("mole_y") * fh) - 0.035
    paint(cover(mole) * col("mole"), skin * 0.35)

    # Lighting: brightness, a directional gradient and a colour cast; then noise.
    light = uniform(0, 2 * math.pi).view(n, 1, 1)
    gain = uniform(0.7, 1.25).view(n, 1, 1) + uniform(0, 0.3).view(n, 1, 1) * (
        gx * torch.cos(light) + gy * torch.sin(light))
    image = image * gain.unsqueeze(1) * uniform(0.9, 1.1, 3).view(n, 3, 1, 1)
    image = image + torch.randn(image.shape, generator=generator) * uniform(0.01, 0.05).view(n, 1, 1, 1)
    return image.mul_(255).add_(0.5).clamp_(0, 255).to(torch.uint8)


def generate(
    num_identities: int, images_per_identity: int, seed: int, image_size: int = IMAGE_SIZE
) -> tuple[Tensor, Tensor]:
    """uint8 images (N, 3, H, W) and identity labels (N,), identity by identity; bit-identical for the same
    arguments. One thread, as :func:`zoo.vision.shapes.generate` explains."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        generator = torch.Generator().manual_seed(seed)
        traits = identities(num_identities, generator)
        labels = torch.arange(num_identities).repeat_interleave(images_per_identity)
        images = torch.empty(len(labels), 3, image_size, image_size, dtype=torch.uint8)
        for start in range(0, len(labels), _CHUNK):
            stop = min(start + _CHUNK, len(labels))
            chunk = {name: value[labels[start:stop]] for name, value in traits.items()}
            images[start:stop] = _render(chunk, generator, image_size)
    finally:
        torch.set_num_threads(threads)
    return images, labels


@lru_cache(maxsize=4)
def cached(split: str, num_identities: int, images_per_identity: int, seed: int, image_size: int):
    """Train identities come from even generator seeds and evaluation identities from odd ones: disjoint people."""
    stream = 0 if split == "train" else 1
    return generate(num_identities, images_per_identity, 2 * seed + stream + 104_729, image_size)
