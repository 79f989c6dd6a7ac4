"""Benchmark of the shapes dataset: how fast it is generated, and how a small CNN and a linear classifier do on it.

Prints generation seconds, the CNN's validation top-1 and training seconds, and the linear classifier's top-1, so
that a change to the generator or to the default recipe can be checked against the figures the recipe promises.

    python scripts/tune_shapes.py --width 16 --epochs 3 --batch-size 64 --lr 3e-3 --warmup 0.1
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from zoo.vision import shapes  # noqa: E402
from zoo.vision.models import small_cnn  # noqa: E402


def normalise(images: Tensor) -> Tensor:
    mean = torch.tensor(shapes.MEAN).view(1, 3, 1, 1)
    std = torch.tensor(shapes.STD).view(1, 3, 1, 1)
    return (images.float() / 255 - mean) / std


def augment(images: Tensor, pad: int, flip: bool, generator: torch.Generator) -> Tensor:
    """Random crop after zero padding and random horizontal flip, for a whole batch at once."""
    n, c, h, w = images.shape
    if pad:
        padded = F.pad(images, (pad, pad, pad, pad))
        oy = torch.randint(0, 2 * pad + 1, (n, 1, 1, 1), generator=generator)
        ox = torch.randint(0, 2 * pad + 1, (n, 1, 1, 1), generator=generator)
        rows = (oy + torch.arange(h).view(1, 1, h, 1)).expand(n, c, h, w + 2 * pad)
        cols = (ox + torch.arange(w).view(1, 1, 1, w)).expand(n, c, h, w)
        images = padded.gather(2, rows).gather(3, cols)
    if flip:
        mask = torch.rand(n, generator=generator) < 0.5
        images = torch.where(mask.view(n, 1, 1, 1), images.flip(3), images)
    return images


def predict(model: nn.Module, images: Tensor, channels_last: bool) -> Tensor:
    model.eval()
    out = []
    with torch.inference_mode():
        for start in range(0, len(images), 500):
            x = images[start : start + 500]
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            out.append(model(x).argmax(1))
    return torch.cat(out)


def evaluate(model: nn.Module, images: Tensor, labels: Tensor, channels_last: bool) -> float:
    return (predict(model, images, channels_last) == labels).float().mean().item()


def per_class(model: nn.Module, images: Tensor, labels: Tensor, channels_last: bool) -> str:
    """Each class's recall and the class it is most often mistaken for."""
    predicted = predict(model, images, channels_last)
    k = len(shapes.CLASSES)
    confusion = torch.bincount(labels * k + predicted, minlength=k * k).view(k, k)
    parts = []
    for c, name in enumerate(shapes.CLASSES):
        row = confusion[c].clone()
        recall = row[c].item() / max(row.sum().item(), 1)
        row[c] = -1
        parts.append(f"{name} {recall:.2f} (->{shapes.CLASSES[row.argmax().item()]})")
    return ", ".join(parts)


def train(
    model: nn.Module,
    images: Tensor,
    labels: Tensor,
    epochs: int,
    batch_size: int,
    lr: float,
    weight_decay: float,
    pad: int,
    flip: bool,
    channels_last: bool,
    seed: int,
    warmup: float = 0.0,
) -> float:
    """AdamW with a cosine schedule (optional linear warm-up, as a fraction of the steps); returns seconds."""
    generator = torch.Generator().manual_seed(seed)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    steps_per_epoch = math.ceil(len(labels) / batch_size)
    total = epochs * steps_per_epoch
    warm = int(warmup * total)

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        return 0.5 * (1 + math.cos(math.pi * (step - warm) / max(total - warm, 1)))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    start = time.perf_counter()
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(labels), generator=generator)
        for i in range(steps_per_epoch):
            idx = order[i * batch_size : (i + 1) * batch_size]
            x = augment(images[idx], pad, flip, generator)
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            loss = F.cross_entropy(model(x), labels[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--num-train", type=int, default=shapes.NUM_TRAIN)
    parser.add_argument("--num-val", type=int, default=shapes.NUM_VAL)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--weight-decay", type=float, default=5e-4)
    parser.add_argument("--warmup", type=float, default=0.1)
    parser.add_argument("--pad", type=int, default=2)
    parser.add_argument("--no-flip", action="store_true")
    parser.add_argument("--no-channels-last", action="store_true")
    parser.add_argument("--linear-epochs", type=int, default=40)
    parser.add_argument("--skip-cnn", action="store_true")
    parser.add_argument("--skip-linear", action="store_true")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    start = time.perf_counter()
    train_split = shapes.shapes("train", num_train=args.num_train, seed=args.seed)
    val_split = shapes.shapes("val", num_val=args.num_val, seed=args.seed)
    generation = time.perf_counter() - start
    x_train = normalise(train_split.dataset.images)
    y_train = train_split.dataset.labels
    x_val = normalise(val_split.dataset.images)
    y_val = val_split.dataset.labels
    print(f"generation: {generation:.2f} s for {len(y_train)} train + {len(y_val)} val images")
    measured = x_train.float().mean((0, 2, 3)), x_train.std((0, 2, 3))
    print(f"normalised train mean {[round(v, 3) for v in measured[0].tolist()]}")
    print(f"normalised train std {[round(v, 3) for v in measured[1].tolist()]}")

    if not args.skip_cnn:
        torch.manual_seed(args.seed)
        model = small_cnn(num_classes=len(shapes.CLASSES), in_channels=3, width=args.width)
        seconds = train(
            model,
            x_train,
            y_train,
            args.epochs,
            args.batch_size,
            args.lr,
            args.weight_decay,
            args.pad,
            not args.no_flip,
            not args.no_channels_last,
            args.seed,
            args.warmup,
        )
        top1 = evaluate(model, x_val, y_val, not args.no_channels_last)
        train_top1 = evaluate(model, x_train[:2000], y_train[:2000], not args.no_channels_last)
        print("per class:", per_class(model, x_val, y_val, not args.no_channels_last))
        print(
            f"cnn width={args.width} epochs={args.epochs} batch={args.batch_size} lr={args.lr} pad={args.pad} "
            f"flip={not args.no_flip}: val top-1 {top1:.4f} (train subset {train_top1:.4f}) in {seconds:.1f} s"
        )

    if not args.skip_linear:
        torch.manual_seed(args.seed)
        linear = nn.Sequential(nn.Flatten(), nn.Linear(3 * x_train.shape[2] * x_train.shape[3], len(shapes.CLASSES)))
        seconds = train(
            linear, x_train, y_train, args.linear_epochs, 256, 1e-3, 1e-4, 0, False, False, args.seed
        )
        top1 = evaluate(linear, x_val, y_val, False)
        train_top1 = evaluate(linear, x_train, y_train, False)
        print(f"linear: val top-1 {top1:.4f} (train {train_top1:.4f}) in {seconds:.1f} s")


if __name__ == "__main__":
    main()
