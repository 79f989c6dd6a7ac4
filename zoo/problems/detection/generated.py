"""Generated scene sets of the detection problem (vision's everyday scenes, driving's aerial views): the seed of
each scene, the same in every process, and a split whose scenes are rendered on first access and then kept."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

SPLIT_STREAM = {"train": 0, "val": 1}


def scene_seed(seed: int, stream: int, index: int, kind: int) -> int:
    """The generator seed of one scene: the same in every process (``hash`` of a string is not); ``kind`` keeps the
    scene sets of different generators apart."""
    return int(np.random.SeedSequence((seed, stream, index, kind)).generate_state(1)[0]) & 0x7FFF_FFFF


class RenderedScenes:
    """The scenes of one split: ``render(seed, *settings)`` for each, on first access, and kept."""

    def __init__(self, render: Callable[..., Any], split: str, count: int, seed: int, kind: int,
                 settings: Sequence[Any]):
        self.render = render
        self.seeds = [scene_seed(seed, SPLIT_STREAM[split], i, kind) for i in range(count)]
        self.settings = tuple(settings)
        self.scenes: list[Any] = [None] * count

    def __len__(self) -> int:
        return len(self.seeds)

    def __getitem__(self, index: int) -> Any:
        scene = self.scenes[index]
        if scene is None:
            scene = self.scenes[index] = self.render(self.seeds[index], *self.settings)
        return scene
