"""Video classification (action recognition) on the shared trainer: clips in, one label per video out.

    python -m zoo.train --task vision --problem video                      # small (2+1)D CNN on the embedded motions
    python -m zoo.train --task vision --problem video --model frame_cnn    # the single-frame baseline
    python -m zoo.train --task vision --model r2plus1d_18 --dataset ucf101 data.args.root=~/data/ucf101 \
        model.pretrained=vision/r2plus1d_18.kinetics400_v1 task_args.size=112 task_args.resize=128 \
        task_args.frames=16 trainer.device=cuda trainer.precision=bf16
    python -m zoo predict --checkpoint runs/video clip.mp4 --per-clip

Training sees one random clip per video and epoch; evaluation and prediction average the softmax of
``task_args.eval_clips`` uniform clips per video (see :mod:`zoo.vision.video_sampling`). Frames are decoded by PyAV
(:mod:`zoo.vision.video_io`), only those a clip needs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchmetrics import MetricCollection
from torchmetrics.classification import MulticlassAccuracy

from zoo.errors import ConfigError
from zoo.task import StepOutput, Task, TaskData, evaluated_split
from zoo.vision.video_datasets import VideoSplit
from zoo.vision.video_sampling import ClipSpec, EvalClips, Frames, TrainClip, to_frames

SAMPLES_SHOWN = 12


@dataclass
class VideoOptions:
    frames: int = 8  # frames per clip
    stride: int = 1  # source frames between a clip's frames (ignored when fps is set)
    fps: float = 0.0  # sample clips at this rate, whatever each video's own; 0 uses stride
    eval_clips: int = 3  # uniform clips per video in evaluation and prediction; their softmax is averaged
    size: int = 0  # side of the square crop the model sees; 0: the dataset's frame size (embedded), else 112
    resize: int = 0  # short side frames are resized to before cropping; 0: size
    hflip: bool = False  # random flips in training: off, as they turn moving left into moving right
    label_smoothing: float = 0.0
    top_k: int = 3  # classes shown per video by predict


@dataclass
class VideoPredictOptions:
    top_k: int = 0  # classes shown; 0: task_args.top_k
    clips: int = 0  # uniform clips averaged per video; 0: as evaluated (task_args.eval_clips)
    per_clip: bool = False  # also show each clip's top classes, with its time span


class VideoClassification(Task):
    monitor = "top1"
    monitor_mode = "max"
    Options = VideoOptions
    PredictOptions = VideoPredictOptions

    def build_data(self, splits: Sequence[str]) -> TaskData:
        loaded: dict[str, VideoSplit] = {split: self.load_split(split) for split in splits}
        ref = loaded.get("train") or next(iter(loaded.values()))
        for split, data in loaded.items():
            if data.classes != ref.classes:
                raise ConfigError(f"split {split!r} of {self.config.data.dataset!r} has other classes than "
                                  f"{next(iter(loaded))!r}: {len(data.classes)} vs {len(ref.classes)}")
        o = self.options
        mean, std = self._normalisation(ref)
        spec = ClipSpec(frames=o.frames, stride=o.stride, fps=o.fps, clips=o.eval_clips,
                        size=o.size or ref.frame_size or 112, resize=o.resize, hflip=o.hflip, mean=mean, std=std)
        info: dict[str, Any] = {"classes": list(ref.classes), "num_classes": len(ref.classes),
                                "clip": dataclasses.asdict(spec)}
        if self.saved_info is not None:
            if self.saved_info["classes"] != info["classes"]:
                raise ConfigError(f"the checkpoint was trained on {self.saved_info['num_classes']} other classes "
                                  f"than dataset {self.config.data.dataset!r}'s; evaluate it on matching data")
            info = dict(self.saved_info)
            spec = clip_spec(info)
        evaluated = evaluated_split(loaded)
        return TaskData(
            train=loaded["train"].dataset if "train" in loaded else None,
            val=evaluated.dataset if evaluated is not None else None,
            info=info,
            train_transform=TrainClip(spec),
            eval_transform=EvalClips(spec),
        )

    def _normalisation(self, ref: VideoSplit) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """The data's statistics, or those of the pretrained weights a run starts from."""
        if self.config.model.pretrained:
            from zoo.hub.catalog import NAME, get_checkpoint

            if NAME.match(self.config.model.pretrained):
                pre = get_checkpoint(self.config.model.pretrained).preprocessing
                if "mean" in pre:
                    return tuple(pre["mean"]), tuple(pre["std"])
        return tuple(ref.mean), tuple(ref.std)

    def model_defaults(self, info: dict[str, Any]) -> dict[str, Any]:
        clip = info["clip"]
        return {"num_classes": info["num_classes"], "in_channels": 3, "frames": clip["frames"],
                "image_size": clip["size"]}

    def build_metrics(self, info: dict[str, Any]) -> MetricCollection:
        n = info["num_classes"]
        return MetricCollection({"top1": MulticlassAccuracy(n, top_k=1, average="micro"),
                                 "top5": MulticlassAccuracy(n, top_k=min(5, n), average="micro")})

    def train_step(self, model: nn.Module, batch: Any) -> StepOutput:
        clips, labels = batch
        logits = model(clips)
        loss = F.cross_entropy(logits.float(), labels, label_smoothing=self.options.label_smoothing)
        return StepOutput(loss, labels.shape[0])

    def eval_step(self, model: nn.Module, batch: Any, metrics: MetricCollection) -> StepOutput:
        clips, labels = batch
        probs = video_probabilities(model, clips)
        metrics.update(probs, labels)
        return StepOutput(F.nll_loss(probs.clamp_min(1e-12).log(), labels), labels.shape[0])

    # -- prediction ---------------------------------------------------------------------------------------------
    @torch.no_grad()
    def predict(self, model: nn.Module, inputs: Sequence[str], info: dict[str, Any], device: torch.device,
                options: VideoPredictOptions | None = None) -> list[dict[str, Any]]:
        options = options or VideoPredictOptions()
        if not inputs:
            raise ConfigError("predict for video needs at least one INPUT: a video file (mp4, avi, mkv, webm, ...)")
        spec = clip_spec(info)
        sampler = EvalClips(spec)
        from zoo.vision.video_sampling import to_input

        model.eval()
        k = min(options.top_k or self.options.top_k, info["num_classes"])
        results = []
        for path in inputs:
            frames, times = sampler.frames(str(path), options.clips)
            clips = to_input(frames, spec, train=False).to(device)
            per_clip = model(clips).float().softmax(dim=-1).cpu()
            result = {"input": str(path), "clips": len(times), "top": _ranked(per_clip.mean(dim=0), info, k)}
            if options.per_clip:
                result["per_clip"] = [{"start_s": start, "end_s": end, "top": _ranked(p, info, k)}
                                      for (start, end), p in zip(times, per_clip)]
            results.append(result)
        return results

    def format_prediction(self, prediction: dict[str, Any]) -> str:
        ranked = lambda top: ", ".join(f"{t['label']} {t['prob']:.3f}" for t in top)  # noqa: E731
        lines = [f"{prediction['input']}: {ranked(prediction['top'])}  ({prediction['clips']} clips averaged)"]
        for clip in prediction.get("per_clip", []):
            lines.append(f"  {clip['start_s']:7.2f}-{clip['end_s']:.2f} s: {ranked(clip['top'])}")
        return "\n".join(lines)

    def write_samples(self, directory: Path, count: int) -> list[Path]:
        """Videos of the validation split, a few of each class: embedded ones encoded as MP4 (H.264) by PyAV,
        files copied as they are; named after their class."""
        import shutil

        from zoo import samples
        from zoo.vision.video_clips import FPS
        from zoo.vision.video_io import write_video

        split = self.load_split("val")
        dataset = split.dataset
        paths, references = [], {}
        for index in samples.pick(len(dataset), count, lambda i: int(dataset.labels[i])):
            source, label = dataset[index]
            name = split.classes[label]
            if isinstance(source, Frames):
                path = write_video(directory / samples.file_name(index, name, ".mp4"), source.frames,
                                   fps=source.fps or FPS)
            else:
                path = directory / samples.file_name(index, name, Path(source).suffix)
                shutil.copyfile(source, path)
            paths.append(path)
            references[path.name] = name
        samples.write_references(directory, references)
        return paths

    # -- figures ------------------------------------------------------------------------------------------------
    @torch.no_grad()
    def report(self, model: nn.Module, batches: Iterable[Any], info: dict[str, Any], directory: Path) -> list[Path]:
        """The confusion matrix, and a strip of frames of the first clip of each of the first videos, captioned
        with the video's prediction and truth."""
        from zoo import plots

        spec, classes = clip_spec(info), info["classes"]
        predicted, target, shown = [], [], []
        for clips, labels in batches:
            probs = video_probabilities(model, clips)
            guesses = probs.argmax(dim=-1).cpu()
            predicted.append(guesses)
            target.append(labels.cpu())
            for clip, guess, truth, p in zip(clips[:, 0], guesses, labels.cpu(), probs.cpu()):
                if len(shown) < SAMPLES_SHOWN:
                    shown.append((to_frames(clip, spec), int(guess), int(truth), float(p[guess])))
        matrix = plots.class_confusion(torch.cat(predicted), torch.cat(target), len(classes))
        return [
            plots.confusion_matrix(matrix, classes, directory / "confusion_matrix.png", "confusion matrix"),
            _frame_strips(shown, classes, directory / "samples.png"),
        ]


def clip_spec(info: dict[str, Any]) -> ClipSpec:
    clip = dict(info["clip"])
    clip["mean"], clip["std"] = tuple(clip["mean"]), tuple(clip["std"])
    return ClipSpec(**clip)


def video_probabilities(model: nn.Module, clips: Tensor) -> Tensor:
    """Clips ``(batch, K, 3, T, H, W)`` -> each video's mean softmax over its K clips ``(batch, classes)``."""
    batch, count = clips.shape[:2]
    logits = model(clips.flatten(0, 1)).float()
    return logits.softmax(dim=-1).view(batch, count, -1).mean(dim=1)


def _ranked(probs: Tensor, info: dict[str, Any], k: int) -> list[dict[str, Any]]:
    top = probs.topk(k)
    return [{"label": info["classes"][i], "prob": round(float(p), 4)}
            for p, i in zip(top.values.tolist(), top.indices.tolist())]


def _frame_strips(shown: list, classes: list[str], path: Path) -> Path:
    """One row per video: its clip's frames side by side, titled with the prediction (and the truth if wrong)."""
    import numpy as np

    from zoo.plots import figure

    rows = max(len(shown), 1)
    frames = shown[0][0].shape[0] if shown else 1
    with figure(path, "predictions: frames of each video's first clip", figsize=(min(1.0 * frames, 16), 1.3 * rows)) as fig:
        for row, (clip, guess, truth, prob) in enumerate(shown):
            axis = fig.add_subplot(rows, 1, row + 1)
            axis.imshow(np.concatenate(list(clip), axis=1))
            right = guess == truth
            caption = f"{'✓' if right else '✗'} {classes[guess]} {prob:.2f}" + ("" if right else f" (is {classes[truth]})")
            axis.set_title(caption, fontsize=8, color="green" if right else "red")
            axis.axis("off")
    return path
