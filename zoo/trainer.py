"""The one training loop every task shares.

    python -m zoo.train --task vision                        # CPU, or CUDA when present
    python -m zoo.train --task vision trainer.device=cuda trainer.precision=bf16

It knows nothing about domains: a :class:`zoo.task.Task` supplies data, model, metrics and the loss of a batch.
The loop owns device and precision, accumulation, clipping, schedules, EMA, evaluation, early stopping,
checkpoints with exact resumption, and logs.
"""

from __future__ import annotations

import contextlib
import math
import sys
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import torch
from torch import nn

from zoo import __version__, checkpoint, distributed
from zoo.config import CHANGES_FILE, RunConfig, record_changes, save_yaml
from zoo.data import DeviceLoader, EpochSampler, SeededDataset, fits_on, make_loader, tensors_of
from zoo.errors import CheckpointError, ConfigError, NonFiniteLossError, ZooError
from zoo.fit import fit_run
from zoo.io import DirectoryLock, atomic_write_json
from zoo.logs import RunLogger, format_metrics
from zoo.optim import build_optimizer, build_scheduler, with_own_kernel
from zoo.perf import Throughput, peak_flops
from zoo.runtime import (
    Interrupts,
    Precision,
    TrainingInterrupted,
    cpu_threads,
    move_to_device,
    rng_state,
    seed_everything,
    select_device,
    set_rng_state,
)
from zoo.strategy import select_strategy
from zoo.task import Task, TaskData, load_task


class CollectiveTimeoutError(ZooError, RuntimeError):
    """Under torchrun, a collective waited longer than ``trainer.collective_timeout_s`` for another rank."""


@dataclass
class Progress:
    """Counters that, with the RNG and module states, fully determine where a run is."""

    step: int = 0  # optimizer steps taken
    epoch: int = 0
    batch_in_epoch: int = 0  # micro-batches of this epoch already trained on
    samples: int = 0
    best: float | None = None
    best_step: int = -1
    evals_without_improvement: int = 0
    train_time: float = 0.0


class Trainer:
    def __init__(self, config: RunConfig, run_dir: str | Path):
        self.config = config
        trainer = config.trainer
        if trainer.accumulate < 1 or config.data.batch_size < 1:
            raise ConfigError("trainer.accumulate and data.batch_size must be at least 1")
        if trainer.epochs < 1 and trainer.max_steps < 1:
            raise ConfigError(f"nothing to train: trainer.epochs={trainer.epochs} and trainer.max_steps="
                              f"{trainer.max_steps}; set trainer.epochs or trainer.max_steps to at least 1")
        seed_everything(trainer.seed)
        self.device = select_device(trainer.device)
        distributed.setup(self.device.type, trainer.collective_timeout_s)
        if self.device.type == "cuda" and distributed.is_initialized():
            self.device = torch.device("cuda", distributed.local_rank())
        self.run_dir = Path(distributed.broadcast_object(str(run_dir)))
        self.ckpt_dir = self.run_dir / "checkpoints"
        self.lock = _lock_run_directory(self.run_dir)  # before anything is built: a second process stops at once
        try:
            self._build(config)
        except BaseException:
            self.lock.release()
            raise

    def _build(self, config: RunConfig) -> None:
        trainer = config.trainer
        self.strategy = select_strategy(trainer, self.device)
        self.task: Task = load_task(config)
        self.monitor = trainer.monitor or self.task.monitor
        self.mode = trainer.monitor_mode or self.task.monitor_mode
        self.data: TaskData = _main_process_first(lambda: self.task.build_data(["train", "val"]))
        self.fitted = fit_run(config, self.data, self.device)  # schedule, threads: printed when the run starts
        self.precision = Precision(trainer.precision, self.device)
        self.model: nn.Module = self.task.build_model(self.data.info).to(self.device)
        if trainer.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True
        self.train_model = self.strategy.wrap(self.model, trainer.seed)
        if trainer.compile:
            self.train_model = torch.compile(self.train_model)
        self.peak_flops = peak_flops(self.device, trainer.precision)
        self.metrics = self.task.build_metrics(self.data.info).to(self.device)
        self.optimizer = build_optimizer(config.optim, self.model)
        self.scaler = self.precision.grad_scaler()
        self.ema = _ema(self.model, trainer.ema.decay, trainer.ema.warmup) if trainer.ema.decay > 0 else None

        pin = self.device.type == "cuda"
        self.train_sampler = EpochSampler(
            len(self.data.train), True, trainer.seed, distributed.rank(), distributed.world_size(),
            lengths=self.data.train_lengths, batch_size=config.data.batch_size,
        )
        resident = _resident_tensors(self.data.train, self.data.train_batch_transform, config, self.device)
        if resident is not None:
            self.train_loader = DeviceLoader(resident, self.train_sampler, config.data.batch_size,
                                             self.data.train_batch_transform, trainer.seed, self.device)
        else:
            self.train_loader = make_loader(
                SeededDataset(self.data.train, self.data.train_transform, trainer.seed), config.data.batch_size,
                self.train_sampler, self.data.collate, config.data.num_workers, pin, trainer.seed,
            )
        self.val_loader = make_eval_loader(self.data, config, self.device)
        self.batches_per_epoch = math.ceil(self.train_sampler.per_rank() / config.data.batch_size)
        self.steps_per_epoch = math.ceil(self.batches_per_epoch / trainer.accumulate)
        self.total_steps = trainer.max_steps or trainer.epochs * self.steps_per_epoch
        self.scheduler = build_scheduler(config.scheduler, self.optimizer, self.total_steps)
        self.progress = Progress()
        self.last_metrics: dict[str, float] = {}

    # -- the loop -------------------------------------------------------------------------------------------------
    def fit(self, resume: bool = False) -> dict[str, Any]:
        """Train to the end (or an early stop) and return the summary; ``resume`` continues from ``last``.

        SIGINT or SIGTERM stops after the current step with a checkpoint (:class:`TrainingInterrupted`).
        """
        try:
            with cpu_threads(self.config.trainer.threads):  # the caller's thread count comes back afterwards
                return self._fit(resume)
        except RuntimeError as error:  # a collective that timed out, or whose peer died, under torchrun
            if distributed.timed_out(error):
                raise CollectiveTimeoutError(distributed.timeout_message(error)) from error
            raise
        finally:
            self.lock.release()

    def _fit(self, resume: bool) -> dict[str, Any]:
        self._start(resume)
        trainer, p, accumulate = self.config.trainer, self.progress, self.config.trainer.accumulate
        logger = RunLogger(
            self.run_dir, self.total_steps, trainer.progress, trainer.tensorboard, p.step, enabled=distributed.is_main()
        )
        for line in self.fitted.lines():  # threads first, then each key fitted to the data, then what was skipped
            logger.print(line)
        logger.print(f"run: {self.run_dir}  ({self.param_count:,} parameters, device {self.device}, "
                     f"{self.steps_per_epoch} steps per epoch, {self.total_steps} steps)")
        start = self.data.info.get("pretrained")
        if start and p.step == 0:  # model.pretrained: say what the weights were (a head re-initialised warns apart)
            logger.print(f"started from: {start['source']} ({start['kind']} weights)")
        meter = Throughput(self.train_loader, self.device, self.peak_flops, accumulate)
        stop = p.step >= self.total_steps
        self.model.train()
        with Interrupts() as interrupts, contextlib.closing(logger):
            while not stop:
                self.train_sampler.set_epoch(p.epoch, start=p.batch_in_epoch * self.config.data.batch_size)
                for batch in meter.loader:
                    batch = move_to_device(batch, self.device, True, trainer.channels_last)
                    boundary = (p.batch_in_epoch + 1) % accumulate == 0 or p.batch_in_epoch + 1 >= self.batches_per_epoch
                    with contextlib.nullcontext() if boundary else self.strategy.no_sync(self.train_model):
                        out = meter.run(lambda: self._forward_backward(batch, accumulate))
                    p.batch_in_epoch += 1
                    p.samples += out.size * distributed.world_size()
                    if not boundary:
                        continue
                    self._optimizer_step()
                    p.step += 1
                    if p.step % trainer.log_every == 0 or p.step == self.total_steps:
                        self._log_window(logger, meter)
                    logger.advance(1)
                    end_of_epoch = p.batch_in_epoch >= self.batches_per_epoch
                    if end_of_epoch:
                        p.epoch, p.batch_in_epoch = p.epoch + 1, 0
                    stop = self._after_step(logger, meter, end_of_epoch, interrupts)
                    if stop or end_of_epoch:
                        break
        if interrupts.signum:
            self._interrupted(interrupts)
        return self._summary()

    def _start(self, resume: bool) -> None:
        """Continue from the newest complete checkpoint (saying which step), or start a new run; save the config."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        path = None
        if resume:
            path, note = checkpoint.resumable(self.ckpt_dir)
            if path is None:
                _say(f"nothing to resume in {self.run_dir} (no complete checkpoint): starting fresh")
            else:
                version = self._restore(path)
                p = self.progress
                _say(f"resuming from step {p.step} of {self.total_steps} (epoch {self._epoch_label()}, {path.name})"
                     + (f"; {note}" if note else "") + (f"; {version}" if version else ""))
        if not distributed.is_main():
            return
        if path is not None and (self.run_dir / "config.yaml").is_file():
            said = record_changes(self.run_dir, self.config, self.progress.step)
            if said:
                _say(said)
        else:
            save_yaml(self.config, self.run_dir / "config.yaml")
            (self.run_dir / CHANGES_FILE).unlink(missing_ok=True)  # a fresh start: earlier changes went with it

    def _after_step(self, logger: RunLogger, meter: Throughput, end_of_epoch: bool, interrupts: Interrupts) -> bool:
        """Evaluate and save when due (or asked to stop by a signal); True ends the run."""
        trainer, step = self.config.trainer, self.progress.step
        eval_due = (trainer.eval_every and step % trainer.eval_every == 0) or (not trainer.eval_every and end_of_epoch)
        done = step >= self.total_steps
        periodic = bool(trainer.checkpoint_every) and step % trainer.checkpoint_every == 0
        interrupted = self.strategy.any(bool(interrupts.signum))
        if not (eval_due or done or periodic or interrupted):
            return False
        with meter.paused() as trained:  # evaluation and saving stay out of the throughput figures
            self.progress.train_time += trained
            self._check_finite(self._window_mean(meter))
            if eval_due or done:
                return self._evaluate_and_save(logger) or done or interrupted
            self._save(tags=("last",))
        return interrupted

    def _log_window(self, logger: RunLogger, meter: Throughput) -> None:
        total = distributed.all_reduce_sum(meter.window_sums())  # every rank sees the same (finite?) value
        loss, count = float(total[0]) / max(int(total[1]), 1), int(total[1])
        self._check_finite(loss)
        lr = self.optimizer.param_groups[0]["lr"]
        speed = meter.record(count)
        logger.log(self.progress.step, {"epoch": self.progress.epoch, "train/loss": loss, "lr": lr, **speed})
        logger.advance(0, {"loss": f"{loss:.4f}", "lr": f"{lr:.2e}", "samples/s": f"{speed['samples_per_s']:.0f}"})

    def _interrupted(self, interrupts: Interrupts) -> None:
        """The run stopped on a signal after a step whose checkpoint was just written: say where, then stop."""
        line = (f"{interrupts.name}: stopped after step {self.progress.step} of {self.total_steps}; checkpoint "
                f"{(self.ckpt_dir / 'last').resolve()} written; continue with: "
                f"python -m zoo.train --output {self.run_dir} --resume")
        _say(line)
        raise TrainingInterrupted(interrupts.signum, line)

    def _epoch_label(self) -> str:
        """The epoch the last step belongs to, counted from 1, of the run's total: consecutive at any eval_every."""
        p = self.progress
        current = p.epoch if p.batch_in_epoch == 0 and p.step else p.epoch + 1
        return f"{max(current, 1)}/{math.ceil(self.total_steps / self.steps_per_epoch)}"

    def _forward_backward(self, batch: Any, accumulate: int) -> Any:
        with self.precision.autocast():
            out = self.task.train_step(self.train_model, batch)
        self.scaler.scale(out.loss / accumulate if accumulate > 1 else out.loss).backward()
        return out

    def _window_mean(self, meter: Throughput) -> float:
        total = distributed.all_reduce_sum(meter.window_sums())
        return float(total[0]) / max(int(total[1]), 1)

    def _optimizer_step(self) -> None:
        clip = self.config.trainer.clip_grad_norm
        if clip > 0:
            self.scaler.unscale_(self.optimizer)
            nn.utils.clip_grad_norm_(self.model.parameters(), clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        self.scheduler.step()
        if self.ema is not None:
            self.ema.update_parameters(self.model)

    def _check_finite(self, loss: float, what: str = "training loss") -> None:
        if not math.isfinite(loss):
            last = self.ckpt_dir / "last"
            kept = f"the last good checkpoint is {last.resolve()}" if last.exists() else "no checkpoint was written yet"
            raise NonFiniteLossError(
                f"{what} became {loss} by step {self.progress.step}; {kept}. "
                "Lower optim.lr, set trainer.clip_grad_norm=1.0, or use trainer.precision=fp32."
            )

    def _check_weights(self) -> None:
        """A checkpoint must never hold NaN or infinite weights: the previous one stays the last good one."""
        local = [getattr(t, "to_local", lambda t=t: t)() for t in self.model.state_dict().values()]
        finite = torch.stack([t.isfinite().all() for t in local if t.is_floating_point()]).all()
        bad = distributed.all_reduce_sum((~finite).to(torch.float32).reshape(1))  # any rank's shard counts
        if bool(bad.item()):
            self._check_finite(float("nan"), "a model weight")

    # -- evaluation and checkpoints -------------------------------------------------------------------------------
    def _evaluate_and_save(self, logger: RunLogger) -> bool:
        """Evaluate, save ``last`` (and ``best`` when the monitored metric improved); True asks to stop early."""
        p, stopping = self.progress, self.config.trainer.early_stopping
        metrics = evaluate(
            self.task, self.inference_model, self.val_loader, self.metrics, self.device, self.precision,
            self.config.trainer.channels_last,
        )
        self.model.train()
        self.last_metrics = metrics
        if self.monitor not in metrics:
            raise ConfigError(f"trainer.monitor={self.monitor!r} is not a validation metric; valid: {sorted(metrics)}")
        value = metrics[self.monitor]
        improved = math.isfinite(value) and (
            p.best is None
            or (value > p.best + stopping.min_delta if self.mode == "max" else value < p.best - stopping.min_delta)
        )
        if improved:
            p.best, p.best_step, p.evals_without_improvement = value, p.step, 0
        else:
            p.evals_without_improvement += 1
        logger.log(p.step, {"epoch": p.epoch, **{f"val/{k}": v for k, v in metrics.items()}})
        mark = " (best)" if improved else ""
        logger.print(f"epoch {self._epoch_label()} step {p.step}: "
                     f"{format_metrics({f'val/{k}': v for k, v in metrics.items()})}{mark}")
        self._save(tags=("last", "best") if improved else ("last",))
        return bool(stopping.patience) and p.evals_without_improvement >= stopping.patience

    @property
    def inference_model(self) -> nn.Module:
        return self.ema.module if self.ema is not None else self.model

    @property
    def param_count(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def _save(self, tags: tuple[str, ...]) -> None:
        self._check_weights()
        rng_per_rank = distributed.gather_objects(rng_state())
        weights, optimizer_state = self.strategy.full_state(self.model, self.optimizer)
        if distributed.is_main():
            state = {
                "optimizer": optimizer_state,
                "scheduler": self.scheduler.state_dict(),
                "scaler": self.scaler.state_dict(),
                "rng": rng_per_rank,
                "progress": asdict(self.progress),
            }
            checkpoint.save(
                self.ckpt_dir, self.progress.step, weights, self.ema.module if self.ema is not None else None,
                state, self.checkpoint_meta(), tags, self.config.trainer.keep_checkpoints,
            )
        distributed.barrier()

    def checkpoint_meta(self) -> dict[str, Any]:
        from zoo import __version__

        return {
            "zoo_version": __version__,
            "task": self.config.task,
            "model": self.config.model.name,
            "dataset": self.config.data.dataset,
            "step": self.progress.step,
            "epoch": self.progress.epoch,
            "metrics": {f"val/{k}": v for k, v in self.last_metrics.items()},
            "monitor": f"val/{self.monitor}",
            "inference_weights": "ema" if self.ema is not None else "model",
            "params": self.param_count,
            "info": self.data.info,
            "config": self.config.to_dict(),
        }

    def _restore(self, path: Path) -> str:
        """Load a checkpoint to continue from; returns a note when another zoo version wrote it. What a checkpoint of
        another version lacks, or holds that this one does not know, is one line naming that version."""
        meta = checkpoint.read_meta(path)
        state = checkpoint.load_trainer_state(path)
        checkpoint.check_trainer_state(state, meta, path, {f.name for f in fields(Progress)})
        try:
            optimizer_state = with_own_kernel(self.optimizer, state["optimizer"])
            self.strategy.load_state(self.model, self.optimizer, path, optimizer_state)
            if self.ema is not None:
                checkpoint.load_weights(path, self.ema.module, "ema")
            self.scheduler.load_state_dict(state["scheduler"])
            self.scaler.load_state_dict(state["scaler"])
            rngs = state["rng"]
            same_world = len(rngs) == distributed.world_size()
            set_rng_state(rngs[distributed.rank()] if same_world else rngs[0])
        except ZooError:
            raise
        except (KeyError, ValueError, TypeError, IndexError, RuntimeError) as error:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise CheckpointError(
                f"{path} cannot be resumed with this config ({type(error).__name__}: {reason}); "
                f"{checkpoint.written_by(meta)}. Resume with the config and zoo version that wrote it, or start a new "
                f"run from its weights with model.pretrained={path}"
            ) from error
        self.progress = Progress(**state["progress"])
        self.last_metrics = {k.removeprefix("val/"): v for k, v in meta.get("metrics", {}).items()}
        if self.ema is not None:
            self.ema.n_averaged.fill_(self.progress.step)
        version = meta.get("zoo_version")
        return checkpoint.written_by(meta) if version != __version__ else ""

    def _summary(self) -> dict[str, Any]:
        p = self.progress
        best_dir, last_dir = self.ckpt_dir / "best", self.ckpt_dir / "last"
        best_metrics = checkpoint.read_meta(best_dir)["metrics"] if best_dir.exists() else {}
        summary = {
            "task": self.config.task,
            "model": self.config.model.name,
            "dataset": self.config.data.dataset,
            "run_dir": str(self.run_dir),
            "status": "completed" if p.step >= self.total_steps else "stopped_early",
            "steps": p.step,
            "epochs": p.epoch,
            "samples_seen": p.samples,
            "train_time_s": round(p.train_time, 3),
            "samples_per_s": round(p.samples / max(p.train_time, 1e-9), 1),
            "params": self.param_count,
            "monitor": f"val/{self.monitor}",
            "final": {f"val/{k}": v for k, v in self.last_metrics.items()},
            "best": {"step": p.best_step, **best_metrics},
            "checkpoints": {"best": str(best_dir), "last": str(last_dir)},
            "data": self.fitted.summary(),
        }
        if distributed.is_main():
            atomic_write_json(self.run_dir / "summary.json", summary)
        return summary


def _main_process_first(build: Any) -> Any:
    """Rank 0 prepares (downloads, caches) first; the others then read what it wrote."""
    if not distributed.is_main():
        distributed.prepare_barrier()
    result = build()
    if distributed.is_main():
        distributed.prepare_barrier()
    return result


def _lock_run_directory(run_dir: Path) -> DirectoryLock:
    """Rank 0 locks the run directory for the run's life; every rank learns whether it could (and stops if not)."""
    lock = DirectoryLock(run_dir)
    refused = ""
    if distributed.is_main():
        try:
            lock.acquire()
        except ConfigError as error:
            refused = str(error)
    refused = distributed.broadcast_object(refused)
    if refused:
        lock.release()
        raise ConfigError(refused)
    return lock


def _say(line: str) -> None:
    """A line for the user from the main process (before the logger exists, or after it closed)."""
    if distributed.is_main():
        print(line, file=sys.stderr, flush=True)


def make_eval_loader(data: TaskData, config: RunConfig, device: torch.device) -> Any:
    batch_size = config.data.eval_batch_size or config.data.batch_size
    sampler = EpochSampler(
        len(data.val), False, 0, distributed.rank(), distributed.world_size(), pad=False,
        lengths=data.val_lengths, batch_size=batch_size,
    )
    resident = _resident_tensors(data.val, data.eval_batch_transform, config, device)
    if resident is not None:
        return DeviceLoader(resident, sampler, batch_size, data.eval_batch_transform, config.trainer.seed, device)
    return make_loader(
        SeededDataset(data.val, data.eval_transform, config.trainer.seed),
        batch_size,
        sampler, data.collate, config.data.num_workers, device.type == "cuda", config.trainer.seed,
    )


def _resident_tensors(dataset: Any, transform: Any, config: RunConfig, device: torch.device) -> Any:
    """The split's tensors when batches can be gathered on the device (asked for, supported, and they fit)."""
    if not config.data.device_resident or transform is None or config.data.num_workers > 0:
        return None
    tensors = tensors_of(dataset)
    return tensors if tensors is not None and fits_on(device, tensors) else None


@torch.no_grad()
def evaluate(
    task: Task,
    model: nn.Module,
    loader: Any,
    metrics: Any,
    device: torch.device,
    precision: Precision,
    channels_last: bool = False,
) -> dict[str, float]:
    """Mean loss and the task's metrics over ``loader``, reduced across ranks."""
    was_training = model.training
    model.eval()
    metrics.reset()
    total = torch.zeros(2, device=device, dtype=torch.float64)
    for batch in loader:
        batch = move_to_device(batch, device, True, channels_last)
        with precision.autocast():
            out = task.eval_step(model, batch, metrics)
        total[0] += out.loss.detach().double() * out.size
        total[1] += out.size
    distributed.all_reduce_sum(total)
    results = {name: float(value) for name, value in metrics.compute().items()}
    results["loss"] = float(total[0] / total[1].clamp(min=1))
    model.train(was_training)
    return results


def _ema(model: nn.Module, decay: float, warmup: bool) -> torch.optim.swa_utils.AveragedModel:
    """Exponential moving average of weights and buffers; with warmup the decay ramps up as (1+n)/(10+n)."""

    def average(averaged: list[torch.Tensor], current: list[torch.Tensor], count: torch.Tensor) -> None:
        n = int(count)
        d = min(decay, (1 + n) / (10 + n)) if warmup else decay
        floats = [(a, c) for a, c in zip(averaged, current) if a.is_floating_point()]
        if floats:
            torch._foreach_lerp_([a for a, _ in floats], [c for _, c in floats], 1 - d)
        for a, c in zip(averaged, current):
            if not a.is_floating_point():
                a.copy_(c)

    return torch.optim.swa_utils.AveragedModel(model, multi_avg_fn=average, use_buffers=True)
