"""What zoo's trainer costs over a hand-written loop, and how it compares with Lightning and Hugging Face.

Every contender trains the same model (the default vision recipe's width-16 CNN) on the same in-memory shapes
images with the same per-sample preprocessing, batch size and AdamW, for the same number of steps, after the same
warm-up, in rounds that take each contender in turn. Best and median steps/s, peak memory (CUDA) and ratios to
the raw loop are printed; Lightning and Hugging Face's Trainer run when installed (pip install lightning
accelerate).

    python scripts/bench_trainer.py                 # CPU
    python scripts/bench_trainer.py --device cuda
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from zoo import api, recipes
from zoo.task import load_task

WARMUP_STEPS = 10


def workload(
    samples: int, batch_size: int, image_size: int, width: int
) -> tuple[list[str], Dataset, Callable[[], torch.nn.Module]]:
    overrides = [f"data.args.num_train={samples}", "data.args.num_val=64", f"data.batch_size={batch_size}",
                 f"data.args.image_size={image_size}", f"model.args.width={width}",
                 "task_args.crop_padding=0", "task_args.hflip=false", "trainer.channels_last=false"]
    config = recipes.resolve("vision", overrides=overrides)
    task = load_task(config)
    data = task.build_data(["train"])

    class Preprocessed(Dataset):
        def __len__(self) -> int:
            return len(data.train)

        def __getitem__(self, index: int):
            return data.train_transform(data.train[index])

    def model() -> torch.nn.Module:
        torch.manual_seed(0)
        return task.build_model(data.info)

    return overrides, Preprocessed(), model


def raw_loop(dataset: Dataset, build: Callable, device: torch.device, batch_size: int, steps: int) -> float:
    model = build().to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, drop_last=True)
    done, start = 0, 0.0
    while done < steps + WARMUP_STEPS:
        for images, labels in loader:
            if done == WARMUP_STEPS:
                _sync(device)
                start = time.perf_counter()
            images, labels = images.to(device, non_blocking=True), labels.to(device, non_blocking=True)
            loss = F.cross_entropy(model(images), labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            done += 1
            if done == steps + WARMUP_STEPS:
                break
    _sync(device)
    return steps / (time.perf_counter() - start)


def zoo_trainer(overrides: list[str], device: torch.device, steps: int) -> float:
    """zoo's own step-time records (one per 10 steps) after the warm-up."""
    with tempfile.TemporaryDirectory() as tmp:
        result = api.train(
            "vision", output=Path(tmp) / "run",
            overrides=[*overrides, f"trainer.max_steps={WARMUP_STEPS + steps}", f"trainer.device={device}",
                       "trainer.progress=false", "trainer.tensorboard=false", f"trainer.log_every={WARMUP_STEPS}",
                       "scheduler.name=constant", "optim.weight_decay=0", "optim.lr=0.003"],
        )
        records = [json.loads(line) for line in (result.run_dir / "metrics.jsonl").read_text().splitlines()]
    windows = [r for r in records if r["step"] > WARMUP_STEPS and "step_time_s" in r]
    return len(windows) * WARMUP_STEPS / sum(WARMUP_STEPS * r["step_time_s"] for r in windows)


def lightning_trainer(dataset: Dataset, build: Callable, device: torch.device, batch_size: int, steps: int) -> float:
    import lightning as L

    class Module(L.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.model = build()

        def training_step(self, batch, _):
            images, labels = batch
            return F.cross_entropy(self.model(images), labels)

        def configure_optimizers(self):
            return torch.optim.AdamW(self.parameters(), lr=3e-3)

    timings = []
    for total in (WARMUP_STEPS, WARMUP_STEPS + steps):
        trainer = L.Trainer(max_steps=total, accelerator="gpu" if device.type == "cuda" else "cpu", devices=1,
                            logger=False, enable_checkpointing=False, enable_progress_bar=False,
                            enable_model_summary=False)
        loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, drop_last=True)
        with contextlib.redirect_stderr(io.StringIO()):
            start = time.perf_counter()
            trainer.fit(Module(), loader)
            _sync(device)
        timings.append(time.perf_counter() - start)
    return steps / (timings[1] - timings[0])


def hf_trainer(dataset: Dataset, build: Callable, device: torch.device, batch_size: int, steps: int) -> float:
    from transformers import Trainer, TrainingArguments

    class Wrapped(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = build()

        def forward(self, pixel_values, labels):
            return {"loss": F.cross_entropy(self.model(pixel_values), labels)}

    def collate(items):
        images, labels = torch.utils.data.default_collate(items)
        return {"pixel_values": images, "labels": labels}

    timings = []
    for total in (WARMUP_STEPS, WARMUP_STEPS + steps):
        with tempfile.TemporaryDirectory() as tmp:
            args = TrainingArguments(
                output_dir=tmp, max_steps=total, per_device_train_batch_size=batch_size, learning_rate=3e-3,
                lr_scheduler_type="constant", weight_decay=0.0, report_to=[], save_strategy="no", logging_strategy="no",
                disable_tqdm=True, use_cpu=device.type == "cpu", dataloader_drop_last=True,
            )
            trainer = Trainer(model=Wrapped(), args=args, train_dataset=dataset, data_collator=collate)
            start = time.perf_counter()
            trainer.train()
            _sync(device)
            timings.append(time.perf_counter() - start)
    return steps / (timings[1] - timings[0])


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _peak_memory(device: torch.device) -> str:
    if device.type != "cuda":
        return "-"
    peak = torch.cuda.max_memory_allocated(device) / 2**20
    torch.cuda.reset_peak_memory_stats(device)
    return f"{peak:.0f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--width", type=int, default=16, help="channels of the CNN's first stage")
    parser.add_argument("--repeats", type=int, default=5, help="rounds; the best and the median of each are shown")
    args = parser.parse_args()
    device = torch.device(args.device)
    overrides, dataset, build = workload(args.batch_size * 40, args.batch_size, args.image_size, args.width)
    contenders: dict[str, Callable[[], float]] = {
        "raw loop": lambda: raw_loop(dataset, build, device, args.batch_size, args.steps),
        "zoo": lambda: zoo_trainer([*overrides, "data.device_resident=false"], device, args.steps),
    }
    with contextlib.suppress(ImportError):
        import lightning  # noqa: F401

        contenders["lightning"] = lambda: lightning_trainer(dataset, build, device, args.batch_size, args.steps)
    with contextlib.suppress(ImportError):
        import accelerate  # noqa: F401

        contenders["hf trainer"] = lambda: hf_trainer(dataset, build, device, args.batch_size, args.steps)
    # zoo's default for in-memory data: batches gathered and augmented on the device (not the same data path)
    contenders["zoo resident"] = lambda: zoo_trainer(overrides, device, args.steps)
    print(f"workload: small_cnn width {args.width}, {args.image_size}px images, batch {args.batch_size}, {args.steps} steps after {WARMUP_STEPS} warm-up, "
          f"device {device}, {torch.get_num_threads()} threads, {args.repeats} rounds")
    # Rounds take every contender in turn, so that a slow spell of the machine hits all of them alike.
    rates: dict[str, list[float]] = {name: [] for name in contenders}
    memory: dict[str, str] = {}
    for _ in range(args.repeats):
        for name, run in contenders.items():
            gc.collect()
            rates[name].append(run())
            memory[name] = _peak_memory(device)
    base = max(rates["raw loop"])
    print(f"{'trainer':<13} {'steps/s':>9} {'vs raw':>8} {'median':>9} {'peak mem':>10}")
    for name, measured in rates.items():
        middle = sorted(measured)[len(measured) // 2]
        print(f"{name:<13} {max(measured):>9.2f} {max(measured) / base:>7.3f}x {middle:>9.2f} {memory[name]:>10}")


if __name__ == "__main__":
    main()
