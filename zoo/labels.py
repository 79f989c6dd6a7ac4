"""Label names of a checkpoint against those of the data it is evaluated on.

A model's outputs are numbered; the numbers mean the class names saved with its checkpoint. Evaluated on another
dataset (``zoo evaluate --dataset kitti``), output 3 must mean the same class as label 3 there, or every figure is
wrong (or an index runs past the head). So the names are compared, and a difference is one line that names it.
"""

from __future__ import annotations

from typing import Any

from zoo.errors import ConfigError


def check_same_classes(saved: dict[str, Any], found: dict[str, Any], dataset: str) -> None:
    """Raise a one-line ConfigError unless ``found["classes"]`` (the data's) equal ``saved["classes"]`` in order."""
    trained, there = saved.get("classes"), found.get("classes")
    if trained is None or there is None or list(trained) == list(there):
        return
    trained, there = [str(c) for c in trained], [str(c) for c in there]
    missing = [c for c in trained if c not in there]
    extra = [c for c in there if c not in trained]
    if not missing and not extra:
        moved = [f"{c} ({trained.index(c)} -> {i})" for i, c in enumerate(there) if trained.index(c) != i]
        what = f"the same names in another order: {', '.join(moved[:6])}{' ...' if len(moved) > 6 else ''}"
    else:
        parts = [f"not in the checkpoint: {', '.join(extra)}" if extra else "",
                 f"not in the data: {', '.join(missing)}" if missing else ""]
        what = "; ".join(p for p in parts if p)
    raise ConfigError(
        f"the checkpoint's {len(trained)} classes do not match the {len(there)} of dataset {dataset!r} ({what}); "
        "evaluate on data labelled as it was trained, or fine-tune on this dataset "
        "(python -m zoo.train ... model.pretrained=CHECKPOINT)"
    )
