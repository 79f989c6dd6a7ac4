"""What zoo's trainer costs over a hand-written loop, and how it compares with Lightning and Hugging Face.

Every contender trains the same model (the default vision recipe's width-16 CNN) on the same in-memory shapes
images with the same per-sample preprocessing, batch size and optimiser (zoo's: AdamW with the fused kernel), for
the same number of optimizer steps after the same warm-up.

The contenders run interleaved: each trains in its own greenlet on the main thread, one at a time. A global
optimizer-step hook hands the work to the next contender every few steps (`--slice`), so a slow spell of a shared
machine falls on all of them alike instead of on whoever ran during it. A contender's time is the sum of its slices,
each from the end of one optimizer step to the end of a later one, so whatever a trainer does between steps (loading,
logging, callbacks) counts, and its set-up and teardown do not. Per-round ratios (one slice of each contender) give
the spread shown beside the overall ratio. Lightning and Hugging Face's Trainer run when installed
(pip install -e ".[bench]": greenlet, lightning, accelerate).

    python scripts/bench_trainer.py                  # CPU, the default recipe's model
    python scripts/bench_trainer.py --image-size 8 --width 4 --batch-size 16 --steps 900   # per-step overhead
    python scripts/bench_trainer.py --device cuda
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import logging
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.optim.optimizer import register_optimizer_step_post_hook
from torch.utils.data import DataLoader, Dataset

from zoo import api, recipes
from zoo.config import OptimConfig
from zoo.optim import build_optimizer
from zoo.task import load_task

WARMUP_STEPS = 10
LR = 3e-3


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


def optimiser(model: torch.nn.Module) -> torch.optim.Optimizer:
    """zoo's AdamW (two parameter groups, the fused kernel), handed to every contender."""
    return build_optimizer(OptimConfig(lr=LR), model)


# -- the contenders: each trains for WARMUP_STEPS + steps optimizer steps -------------------------------------------
def raw_loop(dataset: Dataset, build: Callable, device: torch.device, batch_size: int, total: int,
             plain_adamw: bool = False) -> None:
    model = build().to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=LR) if plain_adamw else optimiser(model)
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, drop_last=True)
    done = 0
    while done < total:
        for images, labels in loader:
            images, labels = images.to(device, non_blocking=True), labels.to(device, non_blocking=True)
            loss = F.cross_entropy(model(images), labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            done += 1
            if done == total:
                break


def zoo_trainer(overrides: list[str], device: torch.device, total: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        api.train(
            "vision", output=Path(tmp) / "run",
            overrides=[*overrides, f"trainer.max_steps={total}", f"trainer.device={device}",
                       "trainer.progress=false", "trainer.tensorboard=false", f"trainer.eval_every={10**9}",
                       f"trainer.threads={torch.get_num_threads()}", "scheduler.name=constant",
                       "optim.weight_decay=0", f"optim.lr={LR}"],
        )


def lightning_trainer(dataset: Dataset, build: Callable, device: torch.device, batch_size: int, total: int) -> None:
    import lightning as L

    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)  # its tips and "fit stopped" lines

    class Module(L.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.model = build()

        def training_step(self, batch, _):
            images, labels = batch
            return F.cross_entropy(self.model(images), labels)

        def configure_optimizers(self):
            return optimiser(self.model)

    trainer = L.Trainer(max_steps=total, accelerator="gpu" if device.type == "cuda" else "cpu", devices=1,
                        logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False)
    trainer.fit(Module(), DataLoader(dataset, batch_size=batch_size, shuffle=True, drop_last=True))


def hf_trainer(dataset: Dataset, build: Callable, device: torch.device, batch_size: int, total: int) -> None:
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

    with tempfile.TemporaryDirectory() as tmp:
        args = TrainingArguments(
            output_dir=tmp, max_steps=total, per_device_train_batch_size=batch_size, learning_rate=LR,
            lr_scheduler_type="constant", weight_decay=0.0, report_to=[], save_strategy="no", logging_strategy="no",
            disable_tqdm=True, use_cpu=device.type == "cpu", dataloader_drop_last=True,
            max_grad_norm=0.0,  # it clips by default; no other contender does
        )
        model = Wrapped()
        Trainer(model=model, args=args, train_dataset=dataset, data_collator=collate,
                optimizers=(optimiser(model.model), None)).train()


# -- interleaving ---------------------------------------------------------------------------------------------------
@dataclass
class Contender:
    name: str
    train: Callable[[], None]
    steps_done: int = 0
    slices: list[float] = field(default_factory=list)  # seconds of each timed slice
    peak_bytes: int = 0  # CUDA memory above the level at the start of a slice
    peak_base: int = 0
    resumed: float = 0.0
    error: BaseException | None = None


class Interleaver:
    """Runs contenders as greenlets on one thread, handing over every ``slice_steps`` optimizer steps.

    Greenlets rather than threads: every contender then uses the same OpenMP team and malloc arena, as a trainer
    alone in its main thread does (with a thread each, these alone made the same trainer up to 3x slower).
    """

    def __init__(self, device: torch.device, steps: int, slice_steps: int):
        self.device, self.steps, self.slice_steps = device, steps, slice_steps
        self.current: Contender | None = None
        self.scheduler: Any = None

    def run(self, trainers: dict[str, Callable[[], None]]) -> list[Contender]:
        try:
            from greenlet import greenlet, getcurrent
        except ImportError:
            raise SystemExit("bench_trainer interleaves the trainers with greenlets: pip install greenlet") from None
        contenders = [Contender(name, train) for name, train in trainers.items()]
        runs = [greenlet(lambda c=c: self._work(c)) for c in contenders]
        self.scheduler = getcurrent()
        handle = register_optimizer_step_post_hook(self._after_step)
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                first_round = True
                while not all(run.dead for run in runs):  # a round: one slice of every contender
                    for contender, run in zip(contenders, runs, strict=True):
                        if not run.dead:
                            self.current = contender
                            run.switch()
                    if first_round:  # every contender is set up and warmed up: what exists now is never garbage
                        gc.collect()
                        gc.freeze()  # so no full collection of it falls inside somebody's timed slice
                        first_round = False
        finally:
            handle.remove()
            gc.unfreeze()
        for contender in contenders:
            if contender.error is not None:
                raise RuntimeError(f"{contender.name} failed") from contender.error
            if contender.steps_done < WARMUP_STEPS + self.steps:
                raise RuntimeError(f"{contender.name} stopped after {contender.steps_done} optimizer steps")
        return contenders

    @staticmethod
    def _work(contender: Contender) -> None:
        try:
            contender.train()
        except BaseException as error:  # reported by run(), after the other contenders finish
            contender.error = error

    def _after_step(self, optimizer: torch.optim.Optimizer, *_) -> None:
        contender = self.current
        if contender is None or not isinstance(optimizer, torch.optim.AdamW):  # accelerate wraps an inner AdamW
            return
        contender.steps_done += 1
        timed = contender.steps_done - WARMUP_STEPS
        if timed < 0 or (timed % self.slice_steps and timed != self.steps) or timed > self.steps:
            return
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        if timed > 0:
            contender.slices.append(time.perf_counter() - contender.resumed)
            if self.device.type == "cuda":
                contender.peak_bytes = max(contender.peak_bytes,
                                           torch.cuda.max_memory_allocated(self.device) - contender.peak_base)
        if timed == self.steps:
            return  # runs on to the end of its training, so its teardown overlaps nobody's slice
        self.scheduler.switch()
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
            contender.peak_base = torch.cuda.memory_allocated(self.device)
        contender.resumed = time.perf_counter()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--steps", type=int, default=300, help="timed optimizer steps of each contender")
    parser.add_argument("--slice", type=int, default=5, help="optimizer steps a contender runs before handing over")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--width", type=int, default=16, help="channels of the CNN's first stage")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for every contender (0: torch's default)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="these contenders (the raw loop always runs)")
    args = parser.parse_args()
    if args.slice < 1 or args.steps < 2 * args.slice:
        parser.error(f"--steps must hold at least two slices of --slice steps (got {args.steps} and {args.slice})")
    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # zoo turns it on; the process-wide setting then holds for every contender
    total = WARMUP_STEPS + args.steps
    overrides, dataset, build = workload(args.batch_size * 40, args.batch_size, args.image_size, args.width)
    trainers: dict[str, Callable[[], None]] = {
        "raw loop": lambda: raw_loop(dataset, build, device, args.batch_size, total),
        "zoo": lambda: zoo_trainer([*overrides, "data.device_resident=false"], device, total),
    }
    with contextlib.suppress(ImportError):
        import lightning  # noqa: F401

        trainers["lightning"] = lambda: lightning_trainer(dataset, build, device, args.batch_size, total)
    with contextlib.suppress(ImportError):
        import accelerate  # noqa: F401

        trainers["hf trainer"] = lambda: hf_trainer(dataset, build, device, args.batch_size, total)
    # what users get without choosing: a loop written with torch.optim.AdamW as is, zoo's default for in-memory data
    trainers["raw, plain AdamW"] = lambda: raw_loop(dataset, build, device, args.batch_size, total, True)
    trainers["zoo resident"] = lambda: zoo_trainer(overrides, device, total)
    if args.only:
        unknown = sorted(set(args.only) - set(trainers))
        if unknown:
            parser.error(f"unknown contenders {unknown}; choose from {sorted(trainers)}")
        trainers = {name: run for name, run in trainers.items() if name == "raw loop" or name in args.only}
    print(f"workload: small_cnn width {args.width}, {args.image_size}px images, batch {args.batch_size}, "
          f"{args.steps} steps after {WARMUP_STEPS} warm-up, device {device}, {torch.get_num_threads()} threads, interleaved every "
          f"{args.slice} steps", flush=True)
    contenders = Interleaver(device, args.steps, args.slice).run(trainers)
    raw = contenders[0]
    print(f"{'trainer':<17} {'steps/s':>8} {'vs raw':>7} {'per-round ratios: median [IQR]':>31} {'peak step mem':>14}")
    for contender in contenders:
        rate = args.steps / sum(contender.slices)
        ratios = [theirs / mine for mine, theirs in zip(contender.slices, raw.slices, strict=True)]
        low, middle, high = statistics.quantiles(ratios, n=4)
        memory = f"{contender.peak_bytes / 2**20:.0f} MiB" if device.type == "cuda" else "-"
        print(f"{contender.name:<17} {rate:>8.2f} {rate * sum(raw.slices) / args.steps:>6.3f}x "
              f"{f'{middle:.3f}x [{low:.3f}-{high:.3f}]':>31} {memory:>14}")


if __name__ == "__main__":
    main()
