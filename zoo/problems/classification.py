"""Image classification as vision and medical imaging both train it: the loss, the ResNet stems, the report.

One label per image is a softmax over the classes (cross-entropy, optionally smoothed); several findings at once are
independent sigmoids (binary cross-entropy, positives optionally up-weighted). The report is a confusion matrix and
the first images captioned with prediction and truth.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

SAMPLES_SHOWN = 32


def classification_loss(logits: Tensor, targets: Tensor, label_smoothing: float = 0.0,
                        pos_weight: float = 1.0) -> Tensor:
    """Cross-entropy for class indices; binary cross-entropy for 0/1 finding flags (float targets)."""
    if targets.is_floating_point():
        weight = torch.full((logits.shape[-1],), pos_weight, device=logits.device)
        return F.binary_cross_entropy_with_logits(logits.float(), targets, pos_weight=weight)
    return F.cross_entropy(logits.float(), targets, label_smoothing=label_smoothing)


def resnet(builder: Callable[..., nn.Module], num_classes: int, in_channels: int, small_input: bool,
           zero_init_residual: bool) -> nn.Module:
    """A torchvision ResNet with the stem made for the input: ``small_input`` (28-32 px) gets a 3x3 stride-1
    convolution and no max-pool, so stage 1 keeps the full resolution; another channel count gets its own 7x7 stem."""
    model = builder(num_classes=num_classes, zero_init_residual=zero_init_residual)
    if small_input:
        model.conv1 = nn.Conv2d(in_channels, 64, kernel_size=3, stride=1, padding=1, bias=False)
        model.maxpool = nn.Identity()
    elif in_channels != 3:
        model.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
    return model


def caption(guess: Tensor, truth: Tensor, classes: Sequence[str]) -> str:
    """"✓ cat", "✗ dog (is cat)", or for findings "✓ effusion, mass"."""
    if guess.ndim == 0:
        g, t = int(guess), int(truth)
        return f"{'✓' if g == t else '✗'} {classes[g]}" + ("" if g == t else f" (is {classes[t]})")
    found = [c for c, flag in zip(classes, guess.tolist()) if flag]
    right = guess.tolist() == [bool(v) for v in truth.tolist()]
    return f"{'✓' if right else '✗'} {', '.join(found) or 'none'}"


def report(model: nn.Module, batches: Iterable[Any], info: dict[str, Any], directory: Path,
           what: str = "images") -> list[Path]:
    """The confusion matrix of the split (one label per image) and its first images captioned with prediction and
    truth; images are shown un-normalised with ``info['mean']`` and ``info['std']``."""
    from zoo import plots

    classes, multi_label = info["classes"], info.get("multi_label", False)
    shown, predicted, target = [], [], []
    for images, targets in batches:
        logits = model(images).float()
        if multi_label:
            guesses = (logits.sigmoid() >= 0.5).cpu()
        else:
            guesses = logits.argmax(dim=-1).cpu()
            predicted.append(guesses)
            target.append(targets.cpu())
        room = SAMPLES_SHOWN - len(shown)
        shown += list(zip(images[:room].float().cpu(), guesses[:room], targets[:room].cpu()))
    mean, std = torch.tensor(info["mean"]).view(-1, 1, 1), torch.tensor(info["std"]).view(-1, 1, 1)
    pictures = [((image * std + mean).clamp(0, 1) * 255).byte() for image, _, _ in shown]
    captions = [caption(guess, truth, classes) for _, guess, truth in shown]
    figures = []
    if predicted:
        matrix = plots.class_confusion(torch.cat(predicted), torch.cat(target), len(classes))
        figures.append(plots.confusion_matrix(matrix, classes, directory / "confusion_matrix.png", "confusion matrix"))
    figures.append(plots.image_grid(pictures, captions, directory / "samples.png", f"predictions on the first {what}"))
    return figures
