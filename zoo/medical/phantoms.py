"""Phantoms: generated grayscale "scans" with anatomy and lesions, labels and pixel masks; no files, no network.

Each scan is an axial slice (or, with ``spatial_dims=3``, a volume) through a body: a fat rim around soft tissue, a
spine, an aorta, two kidneys, bowel gas, and a large textured organ with small bright vessels in it. Lesions lie in
the organ, one to three per abnormal scan, of two types:

- ``cyst``: darker than the organ, round or slightly oval, smooth and homogeneous;
- ``tumour``: brighter than the organ, lobulated, heterogeneous, sometimes with a darker necrotic core.

Size, contrast, position and count vary, and the gas (dark, outside the organ) and vessels (bright, tiny) look
like small lesions of either type, so a model must tell where a spot is and what it looks like. Labels: ``normal``,
``cyst`` or ``tumour`` (balanced thirds), or with ``multi_label=True`` one 0/1 flag per lesion type, each combination
a quarter of the scans. Masks: 0 background, 1 organ, 2 lesion.

Scans are drawn when first read, a chunk of them at once, from distances to (lobulated) ellipsoids evaluated on the
pixel grid and anti-aliased over one pixel, so any ``spatial_dims`` uses the same code. Drawing is bit-identical for
the same arguments, and training a classifier on the first epoch's scans costs more than drawing them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import Dataset

from zoo.errors import ConfigError
from zoo.medical.data import MedicalSplit, canonical_split

CLASSES = ("normal", "cyst", "tumour")
LESION_TYPES = ("cyst", "tumour")
MASK_CLASSES = ("background", "organ", "lesion")
MEAN, STD = (0.235,), (0.242,)  # of phantom("train") at the defaults, in [0, 1]

_STREAM = {"train": 0, "val": 1, "test": 2}
_CHUNK = 256
_MAX_LESIONS = 3


@dataclass
class _Region:
    """Coverage of a drawn object: ``alpha`` (n, K) over flat pixel ``index`` (n, K), or over every pixel."""

    alpha: Tensor
    index: Tensor | None = None

    def gather(self, full: Tensor) -> Tensor:
        """A full-grid tensor (n, P) restricted to this region's pixels."""
        return full if self.index is None else full.gather(1, self.index)


class _Scan:
    """The pixel grid of one chunk, flattened to (n, P), and the drawing operations on it.

    Small objects are evaluated only in a window around them (``extent``), which makes drawing several times faster.
    """

    def __init__(self, n: int, size: int, dims: int, generator: torch.Generator):
        self.n, self.size, self.dims, self.generator = n, size, dims, generator
        self.pixels = size**dims
        # Axis order (z,) y, x; y grows downward (posterior), as in radiological display.
        self.grid = [_to_unit(c, size).view(1, -1) for c in _pixel_grid((size,) * dims)]
        self.image = torch.full((n, self.pixels), 0.02)
        self.mask = torch.zeros((n, self.pixels), dtype=torch.uint8)

    def uniform(self, low: float, high: float, *shape: int) -> Tensor:
        return torch.rand(self.n, *shape, generator=self.generator) * (high - low) + low

    def draw(self, z: tuple[float, float], y: tuple[float, float], x: tuple[float, float]) -> Tensor:
        """(n, dims) points or semi-axes drawn uniformly per axis; ``z`` is used only for volumes."""
        parts = ([self.uniform(*z)] if self.dims == 3 else []) + [self.uniform(*y), self.uniform(*x)]
        return torch.stack(parts, dim=1)

    def texture(self, scale: int = 8) -> Tensor:
        """Smooth noise (n, P) of about unit amplitude: random values on a coarse grid, interpolated."""
        coarse = torch.randn((self.n, 1) + (max(self.size // scale, 2),) * self.dims, generator=self.generator)
        mode = "bilinear" if self.dims == 2 else "trilinear"
        return F.interpolate(coarse, size=(self.size,) * self.dims, mode=mode, align_corners=False).view(self.n, -1)

    def window(self, center: Tensor, extent: tuple[float, ...]) -> tuple[list[Tensor], Tensor]:
        """Coordinates (n, K) per axis and flat indices (n, K) of a box of half-size ``extent`` ((z,) y, x) around
        ``center``."""
        sides = [min(self.size, math.ceil(e * self.size) + 3) for e in extent[-self.dims :]]
        local = _pixel_grid(tuple(sides))
        coords, index = [], torch.zeros(self.n, math.prod(sides), dtype=torch.long)
        for axis, (side, offsets) in enumerate(zip(sides, local)):
            start = ((center[:, axis] + 1) / 2 * self.size - side / 2).round().long().clamp(0, self.size - side)
            pixel = start[:, None] + offsets[None, :]
            coords.append(_to_unit(pixel, self.size))
            index += pixel * self.size ** (self.dims - 1 - axis)
        return coords, index

    def blob(
        self, center: Tensor, axes: Tensor, angle: Tensor, lobes: Tensor | None = None,
        extent: tuple[float, ...] | None = None,
    ) -> _Region:
        """Coverage of an ellipsoid, rotated by ``angle`` in the y-x plane, optionally lobulated.

        ``center`` and ``axes`` are (n, dims) in grid units ([-1, 1] across the image); ``lobes`` (n, k, dims + 2)
        holds, per lobe, an amplitude, a frequency and a direction: the radius is scaled by
        1 + sum(amplitude * cos(frequency * pi * u . direction)). ``extent``, per axis, bounds the object's reach.
        """
        grid, index = (self.grid, None) if extent is None else self.window(center, extent)
        q = [g - center[:, i : i + 1] for i, g in enumerate(grid)]
        cos, sin = torch.cos(angle)[:, None], torch.sin(angle)[:, None]
        q[-2], q[-1] = cos * q[-2] + sin * q[-1], cos * q[-1] - sin * q[-2]
        scaled = [qi / axes[:, i : i + 1] for i, qi in enumerate(q)]
        radius = torch.sqrt(sum(v * v for v in scaled) + 1e-12)
        reach = torch.ones_like(radius)
        if lobes is not None:
            for k in range(lobes.shape[1]):
                amplitude, frequency, direction = lobes[:, k, 0:1], lobes[:, k, 1:2], lobes[:, k, 2:]
                dot = sum(v * direction[:, i : i + 1] for i, v in enumerate(scaled)) / radius
                reach += amplitude * torch.cos(frequency * math.pi * dot)
        distance_px = (radius - reach) * axes.min(dim=1, keepdim=True).values * (self.size / 2)
        return _Region(distance_px.neg_().add_(0.5).clamp_(0, 1), index)

    def lobes(self, count: int, low: float, high: float) -> Tensor:
        directions = torch.randn(self.n, count, self.dims, generator=self.generator)
        directions = directions / directions.norm(dim=-1, keepdim=True)
        amplitude = self.uniform(low, high, count, 1) / count
        frequency = self.uniform(1.5, 3.5, count, 1)
        return torch.cat([amplitude, frequency, directions], dim=-1)

    def paint(self, region: _Region, level: Tensor, grain: Tensor | None = None) -> None:
        """Blend ``level`` (n,), plus an optional full-grid ``grain`` (n, P), into the image over ``region``."""
        value = level[:, None] if grain is None else level[:, None] + region.gather(grain)
        if region.index is None:
            self.image.add_(region.alpha * (value - self.image))
        else:
            current = self.image.gather(1, region.index)
            self.image.scatter_(1, region.index, current + region.alpha * (value - current))

    def full(self, region: _Region) -> Tensor:
        """The region's coverage on the whole grid (n, P), zero outside its window."""
        if region.index is None:
            return region.alpha
        return torch.zeros(self.n, self.pixels).scatter_(1, region.index, region.alpha)

    def label(self, region: _Region, value: int) -> None:
        """Set the mask to ``value`` where the region covers at least half a pixel."""
        inside = region.alpha >= 0.5
        if region.index is None:
            self.mask[inside] = value
        else:
            self.mask.scatter_(1, region.index, torch.where(inside, value, self.mask.gather(1, region.index)).byte())


def _pixel_grid(shape: tuple[int, ...]) -> list[Tensor]:
    """Flat integer coordinates per axis of every pixel of ``shape``, in row-major order."""
    return [c.reshape(-1) for c in torch.meshgrid(*(torch.arange(s) for s in shape), indexing="ij")]


def _to_unit(pixel: Tensor, size: int) -> Tensor:
    """Pixel index to the centre's coordinate in [-1, 1]."""
    return (pixel.float() + 0.5) / size * 2 - 1


def _render(types: Tensor, s: _Scan) -> None:
    """Draw one chunk; ``types`` (n, _MAX_LESIONS) holds 0 (no lesion), 1 (cyst) or 2 (tumour) per lesion slot."""
    n = s.n
    zero = torch.zeros(n)
    body_axes = s.draw((0.85, 0.95), (0.62, 0.74), (0.82, 0.92))
    body_center = s.draw((-0.03, 0.03), (-0.04, 0.04), (-0.04, 0.04))
    s.paint(s.blob(body_center, body_axes, zero), s.uniform(0.27, 0.33))
    s.paint(s.blob(body_center, body_axes * 0.9, zero), s.uniform(0.42, 0.48), 0.02 * s.texture())
    for side in (-1.0, 1.0):
        kidney = s.blob(s.draw((-0.1, 0.1), (0.36, 0.44), (side * 0.46, side * 0.38)),
                        s.draw((0.18, 0.25), (0.1, 0.13), (0.07, 0.09)), s.uniform(-0.5, 0.5), extent=(0.3, 0.14, 0.14))
        s.paint(kidney, s.uniform(0.64, 0.7))
    spine_center = s.draw((0.0, 0.0), (0.44, 0.48), (-0.03, 0.03))
    spine_radius = s.uniform(0.09, 0.11)
    spine_axes = torch.stack([torch.full((n,), 4.0)] * (s.dims - 2) + [spine_radius, spine_radius], dim=1)
    s.paint(s.blob(spine_center, spine_axes, zero, extent=(1.0, 0.12, 0.12)), s.uniform(0.88, 0.95))
    s.paint(s.blob(spine_center, spine_axes * 0.65, zero, extent=(1.0, 0.08, 0.08)), s.uniform(0.7, 0.76))
    aorta_axes = torch.stack([torch.full((n,), 4.0)] * (s.dims - 2) + [s.uniform(0.045, 0.055)] * 2, dim=1)
    aorta = s.blob(s.draw((0, 0), (0.27, 0.31), (0.1, 0.14)), aorta_axes, zero, extent=(1.0, 0.06, 0.06))
    s.paint(aorta, s.uniform(0.68, 0.72))
    for _ in range(3):
        shown = (s.uniform(0, 1) < 0.6).float()
        gas = s.blob(s.draw((-0.4, 0.4), (-0.4, 0.12), (0.12, 0.55)), s.draw((0.04, 0.07), (0.03, 0.07), (0.03, 0.07)),
                     s.uniform(0, 3), extent=(0.08, 0.08, 0.08))
        gas.alpha *= shown[:, None]
        s.paint(gas, s.uniform(0.04, 0.1))

    organ_center = s.draw((-0.1, 0.1), (-0.14, 0.0), (-0.3, -0.22))
    organ_axes = s.draw((0.5, 0.65), (0.36, 0.42), (0.4, 0.48))
    organ = s.blob(organ_center, organ_axes, s.uniform(-0.3, 0.3), s.lobes(3, 0.06, 0.14), extent=(0.8, 0.56, 0.56))
    organ_level = s.uniform(0.57, 0.63)
    s.paint(organ, organ_level, 0.025 * s.texture(6))
    s.label(organ, 1)
    organ_cover = s.full(organ)

    def inside_organ(reach: float) -> Tensor:
        """Points spread over the organ's central ``reach`` fraction along each axis."""
        direction = torch.randn(n, s.dims, generator=s.generator)
        direction = direction / direction.norm(dim=1, keepdim=True)
        return organ_center + direction * organ_axes * s.uniform(0, reach, 1)

    for _ in range(4):
        shown = (s.uniform(0, 1) < 0.6).float()
        vessel = s.blob(inside_organ(0.8), s.draw((0.3, 0.5), (0.02, 0.035), (0.02, 0.035)), s.uniform(0, 3),
                        extent=(0.5, 0.04, 0.04))
        vessel.alpha *= vessel.gather(organ_cover) * shown[:, None]
        s.paint(vessel, organ_level + s.uniform(0.06, 0.1))

    grain = 0.04 * s.texture(4)
    for slot in range(types.shape[1]):
        kind = types[:, slot]
        tumour = (kind == 2).float()
        radius = torch.where(kind == 1, s.uniform(0.06, 0.16), s.uniform(0.08, 0.2))
        stretch = torch.where(kind == 1, s.uniform(1.0, 1.35), s.uniform(1.0, 1.5))
        axes = torch.stack([radius] * (s.dims - 1) + [radius * stretch], dim=1)
        center = inside_organ(0.55)
        lesion = s.blob(center, axes, s.uniform(0, math.pi), s.lobes(3, 0.15, 0.3) * tumour.view(n, 1, 1),
                        extent=(0.4, 0.4, 0.4))
        lesion.alpha *= lesion.gather(organ_cover) * (kind > 0).float()[:, None]
        contrast = torch.where(kind == 1, -s.uniform(0.1, 0.3), s.uniform(0.08, 0.25))
        s.paint(lesion, organ_level + contrast, grain * tumour[:, None])
        necrotic = tumour * (radius > 0.12).float() * (s.uniform(0, 1) < 0.3).float()
        core = s.blob(center, axes * 0.45, zero, extent=(0.4, 0.4, 0.4))
        core.alpha *= lesion.alpha * necrotic[:, None]
        s.paint(core, organ_level - 0.05)
        s.label(lesion, 2)

    s.image.add_(torch.randn(s.image.shape, generator=s.generator) * s.uniform(0.015, 0.035, 1))


def _lesion_types(labels: Tensor, multi_label: bool, generator: torch.Generator) -> Tensor:
    """Lesion type per slot (0 none, 1 cyst, 2 tumour) that agrees with each scan's labels."""
    n = len(labels)
    more = torch.rand(n, _MAX_LESIONS, generator=generator) < torch.tensor([1.0, 0.35, 0.3])
    if not multi_label:
        return (labels.view(n, 1) * more).long()
    cyst, tumour = labels[:, 0].long(), labels[:, 1].long()
    first = torch.where(cyst == 1, 1, 2 * tumour)
    second = torch.where((cyst == 1) & (tumour == 1), 2, first * more[:, 1])
    either = torch.where(torch.rand(n, generator=generator) < 0.5, first, torch.where(tumour == 1, 2, first))
    return torch.stack([first, second, either * more[:, 2]], dim=1)


class PhantomDataset(Dataset):
    """Phantom scans drawn a chunk at a time, when an item of the chunk is first read, then kept.

    Labels are fixed up front (balanced over the whole set); each chunk has its own random stream, so any item is
    the same whichever order the chunks are drawn in, and a smoke test reading four items draws one chunk.
    """

    def __init__(self, num: int, seed: int, image_size: int = 64, spatial_dims: int = 2, multi_label: bool = False):
        if spatial_dims not in (2, 3):
            raise ConfigError(f"data.args.spatial_dims must be 2 or 3, got {spatial_dims!r}")
        if image_size < 16:
            raise ConfigError(f"data.args.image_size must be at least 16 for phantoms, got {image_size!r}")
        self.num, self.seed, self.image_size, self.spatial_dims = num, seed, image_size, spatial_dims
        generator = torch.Generator().manual_seed(seed)
        if multi_label:
            combos = (torch.arange(num) % 4)[torch.randperm(num, generator=generator)]
            self.labels = torch.stack([combos % 2, combos // 2], dim=1).float()
        else:
            self.labels = (torch.arange(num) % len(CLASSES))[torch.randperm(num, generator=generator)]
        self.multi_label = multi_label
        self.chunk = _CHUNK if spatial_dims == 2 else max(1, _CHUNK * 32 // image_size**2)
        self.chunks: dict[int, tuple[Tensor, Tensor]] = {}

    def __len__(self) -> int:
        return self.num

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        if not 0 <= index < self.num:
            raise IndexError(f"phantom item {index} of {self.num}")
        chunk, offset = divmod(index, self.chunk)
        if chunk not in self.chunks:
            self.chunks[chunk] = self._draw(chunk)
        images, masks = self.chunks[chunk]
        return {"image": images[offset], "label": self.labels[index], "mask": masks[offset].long()}

    def _draw(self, chunk: int) -> tuple[Tensor, Tensor]:
        """uint8 images (n, 1, *S) and masks (n, *S) of one chunk, on one thread: the many small element-wise ops
        would otherwise wait on busy cores. Bit-identical for the same arguments."""
        start, stop = chunk * self.chunk, min((chunk + 1) * self.chunk, self.num)
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + chunk + 1)
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            types = _lesion_types(self.labels[start:stop], self.multi_label, generator)
            scan = _Scan(stop - start, self.image_size, self.spatial_dims, generator)
            _render(types, scan)
        finally:
            torch.set_num_threads(threads)
        shape = (-1,) + (self.image_size,) * self.spatial_dims
        images = scan.image.mul_(255).add_(0.5).clamp_(0, 255).to(torch.uint8).view(shape).unsqueeze(1)
        return images, scan.mask.view(shape)

    def materialise(self) -> tuple[Tensor, Tensor, Tensor]:
        """Every image, label and mask as tensors (drawing the chunks not drawn yet)."""
        for chunk in range(-(-self.num // self.chunk)):
            if chunk not in self.chunks:
                self.chunks[chunk] = self._draw(chunk)
        order = sorted(self.chunks)
        return (torch.cat([self.chunks[c][0] for c in order]), self.labels,
                torch.cat([self.chunks[c][1] for c in order]))


def generate(
    num: int, seed: int, image_size: int = 64, spatial_dims: int = 2, multi_label: bool = False
) -> tuple[Tensor, Tensor, Tensor]:
    """uint8 images (N, 1, *S), labels (N,) int64 or (N, 2) float 0/1, uint8 masks (N, *S); the same for the same
    arguments."""
    return PhantomDataset(num, seed, image_size, spatial_dims, multi_label).materialise()


@lru_cache(maxsize=8)
def _cached(split: str, num: int, seed: int, image_size: int, spatial_dims: int, multi_label: bool) -> PhantomDataset:
    """Each (split, seed) pair draws from its own streams; kept, so a process draws each chunk once."""
    return PhantomDataset(num, 3 * seed + _STREAM[split] + 104_729, image_size, spatial_dims, multi_label)


def phantom(
    split: str,
    root: str | None = None,
    download: bool = False,
    num_train: int = 3000,
    num_val: int = 600,
    image_size: int = 48,
    spatial_dims: int = 2,
    multi_label: bool = False,
    seed: int = 0,
) -> MedicalSplit:
    """The phantom scans of ``split`` (train, val, or test of ``num_val`` scans); ``root`` and ``download`` are
    accepted for a uniform signature and unused."""
    split = canonical_split(split, "phantom")
    dataset = _cached(split, num_train if split == "train" else num_val, seed, image_size, spatial_dims, multi_label)
    return MedicalSplit(
        dataset=dataset,
        name="phantom",
        channels=1,
        spatial_dims=spatial_dims,
        classes=list(LESION_TYPES if multi_label else CLASSES),
        multi_label=multi_label,
        mask_classes=list(MASK_CLASSES),
        image_size=[image_size] * spatial_dims,
        mean=MEAN,
        std=STD,
    )
