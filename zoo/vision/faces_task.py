"""Face recognition on the shared trainer: embeddings trained with an identity loss, measured on unseen people.

    python -m zoo.train --task vision --problem faces --output runs/faces          # CPU, embedded identities
    python -m zoo.train --task vision --problem faces trainer.device=cuda           # the same on a GPU
    python -m zoo evaluate --checkpoint runs/faces --dataset lfw data.args.root=/data/lfw
    python -m zoo predict --checkpoint runs/faces a.png b.png --compare
    python -m zoo predict --checkpoint runs/faces --gallery people/ probe.png
    python -m zoo predict --checkpoint runs/faces faces/ --embeddings-out faces.safetensors

Training sees identities as classes (ArcFace, CosFace or softmax over them); validation never does: it embeds
people absent from training and scores pairs (the LFW protocol, ROC AUC, TAR at FAR=1e-3) and gallery search, see
:mod:`zoo.vision.verification`. There is no validation loss (the loss needs the identity's class weights), so the
logged ``val/loss`` is 0. The threshold that the ten folds chose (their mean) is saved in each checkpoint's info
and is what ``predict --compare`` and ``--gallery`` decide with, unless ``--threshold`` says otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torchmetrics import MetricCollection

from zoo import registry
from zoo.errors import ConfigError
from zoo.inputs import input_file
from zoo.task import StepOutput, Task, TaskData, call_with_args, evaluated_split
from zoo.vision import transforms
from zoo.vision.face_align import build_aligner
from zoo.vision.faces_data import FaceSplit, load_face
from zoo.vision.verification import FaceVerification, pair_scores, roc

PAIRS_SHOWN = 16


@dataclass
class FacesOptions:
    crop_padding: int = 2  # random crop after padding by this many pixels; 0 turns it off
    hflip: bool = True  # random horizontal flips (faces are near symmetric)


@dataclass
class FacesPredictOptions:
    compare: bool = field(default=False, metadata={"help": "say whether the first input and each other input show "
                                                           "the same person"})
    gallery: str = field(default="", metadata={"help": "folder of known people (DIR/<name>/<image> or DIR/<name>.png): "
                                                       "name the closest ones for each input"})
    top_k: int = field(default=3, metadata={"help": "identities listed per input with --gallery"})
    threshold: float | None = field(default=None, metadata={"help": "cosine similarity above which two faces are "
                                                                    "the same person (default: the checkpoint's)"})
    embeddings_out: str = field(default="", metadata={"help": "write the inputs' embeddings (folders are expanded) "
                                                              "to FILE.npy or FILE.safetensors"})
    align: str = field(default="", metadata={"help": "face aligner for the inputs: none or center_crop (default: "
                                                     "as in training)"})


class FaceRecognition(Task):
    monitor = "verification_accuracy"
    monitor_mode = "max"
    Options = FacesOptions
    PredictOptions = FacesPredictOptions

    def __init__(self, config: Any):
        super().__init__(config)
        self.pairs: torch.Tensor | None = None

    # -- data ---------------------------------------------------------------------------------------------------
    def load_split(self, split: str) -> FaceSplit:
        """The dataset's loader; a checkpoint being evaluated fixes the image size to the one it was trained on."""
        entry = self.entry.dataset(self.config.data.dataset)
        defaults = {"split": split}
        if self.saved_info:
            defaults["image_size"] = self.saved_info["image_size"]
        return call_with_args(registry.load_object(entry.loader), self.config.data.args, defaults, "data.args",
                              entry.loader)

    def build_data(self, splits: Sequence[str]) -> TaskData:
        loaded = {split: self.load_split(split) for split in splits}
        evaluated = evaluated_split(loaded)
        ref = evaluated if evaluated is not None else loaded["train"]
        saved = self.saved_info or {}
        if "train" in loaded:
            num_identities = len(loaded["train"].identities)
        elif "num_identities" in saved:
            num_identities = saved["num_identities"]
        else:
            raise ConfigError("face models are sized by their training identities: load the train split too")
        # The model's own preprocessing wins over that of a dataset it is evaluated on.
        info = {
            "num_identities": num_identities,
            "image_size": saved.get("image_size", ref.image_size),
            "mean": list(saved.get("mean", ref.mean)),
            "std": list(saved.get("std", ref.std)),
            "align": saved.get("align", ref.align),
            "crop_fraction": saved.get("crop_fraction", ref.crop_fraction),
        }
        if "threshold" in saved:
            info["threshold"] = saved["threshold"]
        if evaluated is not None:
            if evaluated.pairs is None:
                raise ConfigError(f"dataset {self.config.data.dataset!r} has no verification pairs in its evaluated "
                                  "split")
            self.pairs = evaluated.pairs
        o = self.options
        mean, std = info["mean"], info["std"]
        augment = transforms.train_transform(info["image_size"], mean, std, o.crop_padding, o.hflip)
        return TaskData(
            train=loaded["train"].dataset if "train" in loaded else None,
            val=evaluated.dataset if evaluated is not None else None,
            info=info,
            train_transform=_OnFace(augment),
            eval_transform=_OnFace(transforms.eval_transform(mean, std)),
            train_batch_transform=_FaceBatch(transforms.BatchAugment(mean, std, o.crop_padding, o.hflip)),
            eval_batch_transform=_FaceBatch(transforms.BatchNormalize(mean, std)),
        )

    # -- model, steps, metrics ------------------------------------------------------------------------------------
    def model_defaults(self, info: dict[str, Any]) -> dict[str, Any]:
        return {"num_identities": info["num_identities"], "image_size": info["image_size"], "in_channels": 3}

    def build_metrics(self, info: dict[str, Any]) -> MetricCollection:
        if self.pairs is None:
            raise ConfigError("face metrics score the evaluated split's pairs: build the data first")
        return MetricCollection({"faces": FaceVerification(self.pairs, record=info)}, compute_groups=False)

    def train_step(self, model: nn.Module, batch: Any) -> StepOutput:
        images, labels, _ = batch
        return StepOutput(model(images, labels), labels.shape[0])

    def eval_step(self, model: nn.Module, batch: Any, metrics: MetricCollection) -> StepOutput:
        images, labels, indices = batch
        metrics.update(model(images), labels, indices)
        return StepOutput(torch.zeros((), device=images.device), labels.shape[0])

    # -- prediction ---------------------------------------------------------------------------------------------
    @torch.no_grad()
    def embed(self, model: nn.Module, paths: Sequence[str | Path], info: dict[str, Any], device: torch.device,
              align: str = "") -> torch.Tensor:
        """L2-normalised embeddings (N, D) of image files, preprocessed as in training."""
        aligner = build_aligner(align or info.get("align", "none"), info.get("crop_fraction", 1.0))
        prepare = transforms.eval_transform(info["mean"], info["std"])
        model.eval()
        out = []
        for start in range(0, len(paths), 64):
            chunk = paths[start:start + 64]
            for path in chunk:
                input_file(path)
            batch = torch.stack([prepare(load_face(p, info["image_size"], aligner)) for p in chunk])
            out.append(model(batch.to(device)).float().cpu())
        return torch.cat(out) if out else torch.empty(0)

    def predict(
        self, model: nn.Module, inputs: Sequence[str], info: dict[str, Any], device: torch.device,
        options: FacesPredictOptions | None = None,
    ) -> list[dict[str, Any]]:
        o = options or FacesPredictOptions()
        paths = expand_images(inputs)
        if not paths:
            raise ConfigError("face predict needs image files or folders of them as INPUTs")
        embeddings = self.embed(model, paths, info, device, o.align)
        if o.embeddings_out:
            write_embeddings(Path(o.embeddings_out), embeddings, paths)
        if o.compare and o.gallery:
            raise ConfigError("give --compare or --gallery DIR, not both")
        if o.compare:
            if len(paths) < 2:
                raise ConfigError("--compare needs two images (the first is compared with each of the others)")
            threshold = self._threshold(o, info)
            return [
                {"input": str(paths[0]), "other": str(other), "similarity": round(float(s), 4),
                 "threshold": round(threshold, 4), "same": bool(s > threshold)}
                for other, s in zip(paths[1:], (embeddings[1:] @ embeddings[0]).tolist())
            ]
        if o.gallery:
            return self._identify(model, paths, embeddings, info, device, o)
        if o.embeddings_out:
            return [{"input": str(p), "embeddings_out": o.embeddings_out, "row": i} for i, p in enumerate(paths)]
        return [{"input": str(p), "embedding": [round(v, 5) for v in e.tolist()]} for p, e in zip(paths, embeddings)]

    def _threshold(self, o: FacesPredictOptions, info: dict[str, Any]) -> float:
        if o.threshold is not None:
            return float(o.threshold)
        if "threshold" not in info:
            raise ConfigError("this checkpoint holds no verification threshold (it was saved before any "
                              "evaluation): pass --threshold T")
        return float(info["threshold"])

    def _identify(self, model: nn.Module, paths: list[Path], embeddings: torch.Tensor, info: dict[str, Any],
                  device: torch.device, o: FacesPredictOptions) -> list[dict[str, Any]]:
        """Each identity's template is the normalised mean of its gallery images' embeddings."""
        names, files = read_gallery(Path(o.gallery))
        gallery = self.embed(model, files, info, device, o.align)
        people = sorted(set(names))
        templates = torch.stack([gallery[[i for i, n in enumerate(names) if n == p]].mean(0) for p in people])
        templates = torch.nn.functional.normalize(templates, dim=1)
        threshold = self._threshold(o, info)
        similarity = embeddings @ templates.T
        k = min(o.top_k, len(people))
        top = similarity.topk(k, dim=1)
        results = []
        for path, values, indices in zip(paths, top.values.tolist(), top.indices.tolist()):
            ranked = [{"identity": people[i], "similarity": round(v, 4)} for v, i in zip(values, indices)]
            match = ranked[0]["identity"] if values[0] > threshold else None
            results.append({"input": str(path), "match": match, "threshold": round(threshold, 4), "top": ranked})
        return results

    def format_prediction(self, prediction: dict[str, Any]) -> str:
        if "other" in prediction:
            verdict = "same person" if prediction["same"] else "different people"
            sign = ">" if prediction["same"] else "<="
            return (f"{prediction['input']} vs {prediction['other']}: {verdict} (similarity "
                    f"{prediction['similarity']:.3f} {sign} threshold {prediction['threshold']:.3f})")
        if "top" in prediction:
            ranked = ", ".join(f"{t['identity']} {t['similarity']:.3f}" for t in prediction["top"])
            who = prediction["match"] or f"unknown (no one above {prediction['threshold']:.3f})"
            return f"{prediction['input']}: {who}; closest: {ranked}"
        if "row" in prediction:
            return f"{prediction['input']}: row {prediction['row']} of {prediction['embeddings_out']}"
        values = prediction["embedding"]
        return f"{prediction['input']}: {len(values)}-d embedding [{', '.join(f'{v:.3f}' for v in values[:4])}, ...]"

    # -- samples and figures --------------------------------------------------------------------------------------
    def write_samples(self, directory: Path, count: int) -> list[Path]:
        """Two images each of ``count // 2`` unseen people (for ``--compare``), and ``gallery/<person>/`` with a
        third image of each plus as many other people (for ``--gallery``); references.json names every file."""
        from zoo import samples

        split = self.load_split("val")
        dataset = split.dataset
        by_identity: dict[int, list[int]] = {}
        for index, label in enumerate(int(label) for label in dataset.labels):  # no image decoded to list them
            by_identity.setdefault(label, []).append(index)
        people = [p for p in sorted(by_identity) if len(by_identity[p]) >= 3]
        wanted = max(1, count // 2)
        if len(people) < wanted:
            raise ConfigError(f"the validation split has {len(people)} people with three images; asked for {wanted}")
        paths, references = [], {}
        for person in people[:wanted]:
            name = split.identities[person]
            for index in by_identity[person][:2]:
                path = samples.write_image(dataset[index][0], directory / samples.file_name(index, name, ".png"))
                paths.append(path)
                references[path.name] = name
        for person in people[: 2 * wanted]:
            name = split.identities[person]
            index = by_identity[person][2]
            path = samples.write_image(dataset[index][0], directory / "gallery" / name / f"{index:05d}.png")
            references[f"gallery/{name}/{path.name}"] = name
        samples.write_references(directory, references)
        return paths

    def report(self, model: nn.Module, batches: Iterable[Any], info: dict[str, Any], directory: Path) -> list[Path]:
        """The ROC curve (log false accept rate) with the chosen threshold, and pairs with their similarity."""
        from zoo import plots

        embeddings, images = [], []
        for batch_images, _, _ in batches:
            embeddings.append(model(batch_images).float().cpu())
            images.append(batch_images.float().cpu())
        embeddings, images = torch.cat(embeddings), torch.cat(images)
        pairs = self.pairs
        similarity = pair_scores(embeddings.double(), pairs)
        same = pairs[:, 2].bool()
        far, tar, thresholds = roc(similarity, same)
        threshold = float(info.get("threshold", 0.5))
        at = int((thresholds - threshold).abs().argmin())
        roc_path = directory / "roc.png"
        with plots.figure(roc_path, "verification ROC on unseen identities", figsize=(5, 4)) as fig:
            axis = fig.add_subplot(1, 1, 1)
            axis.plot(far.clamp(min=1e-4).numpy(), tar.numpy())
            axis.scatter([max(float(far[at]), 1e-4)], [float(tar[at])], color="red",
                         label=f"threshold {threshold:.3f}")
            axis.set_xscale("log")
            axis.set_xlabel("false accept rate")
            axis.set_ylabel("true accept rate")
            axis.grid(True, alpha=0.3)
            axis.legend(loc="lower right")
        mean = torch.tensor(info["mean"]).view(-1, 1, 1)
        std = torch.tensor(info["std"]).view(-1, 1, 1)
        shown = torch.cat([pairs[same][: PAIRS_SHOWN // 2], pairs[~same][: PAIRS_SHOWN // 2]])
        pictures, captions = [], []
        for a, b, truth, _ in shown.tolist():
            pair = torch.cat([images[a], images[b]], dim=2)
            pictures.append(((pair * std + mean).clamp(0, 1) * 255).byte())
            s = float(embeddings[a] @ embeddings[b])
            right = (s > threshold) == bool(truth)
            captions.append(f"{'✓' if right else '✗'} {'same' if truth else 'diff'} {s:.2f}")
        grid = plots.image_grid(pictures, captions, directory / "pairs.png", "pairs: truth and cosine similarity",
                                columns=4)
        return [roc_path, grid]


IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".pgm", ".tif", ".tiff", ".webp")


def expand_images(inputs: Sequence[str]) -> list[Path]:
    """Files as given; folders replaced by the images inside them (recursively, sorted)."""
    paths: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            paths += sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        else:
            paths.append(path)
    return paths


def read_gallery(directory: Path) -> tuple[list[str], list[Path]]:
    """Identity names and image files of a gallery: ``DIR/<name>/<image>`` or ``DIR/<name>.<ext>``."""
    if not directory.is_dir():
        raise ConfigError(f"--gallery {directory}: no such folder (expected DIR/<name>/<image> or DIR/<name>.png)")
    names, files = [], []
    for entry in sorted(directory.iterdir()):
        if entry.is_dir():
            images = sorted(p for p in entry.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
            names += [entry.name] * len(images)
            files += images
        elif entry.suffix.lower() in IMAGE_SUFFIXES:
            names.append(entry.stem)
            files.append(entry)
    if not files:
        raise ConfigError(f"--gallery {directory} holds no images (expected DIR/<name>/<image> or DIR/<name>.png)")
    return names, files


def write_embeddings(path: Path, embeddings: torch.Tensor, paths: Sequence[Path]) -> Path:
    """``.safetensors`` (tensor ``embeddings``, the input paths as JSON in its metadata) or ``.npy`` (with the
    paths one per line in ``FILE.npy.txt``)."""
    import json

    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file({"embeddings": embeddings.contiguous()}, str(path),
                  metadata={"paths": json.dumps([str(p) for p in paths])})
    elif path.suffix == ".npy":
        import numpy as np

        np.save(path, embeddings.numpy())
        path.with_name(path.name + ".txt").write_text("".join(f"{p}\n" for p in paths))
    else:
        raise ConfigError(f"--embeddings-out {path}: the file must end in .npy or .safetensors")
    return path


class _OnFace:
    """Apply an image transform to the image of an ``(image, identity, index)`` item (picklable for workers)."""

    def __init__(self, transform: Any):
        self.transform = transform

    def __call__(self, item: tuple[Any, int, int]) -> tuple[torch.Tensor, int, int]:
        image, label, index = item
        return self.transform(image), label, index


class _FaceBatch:
    """A classification batch transform on ``(images, identities)``, carrying the item indices through."""

    def __init__(self, transform: Any):
        self.transform = transform

    def __call__(self, items: tuple[torch.Tensor, ...], random: Any) -> tuple[torch.Tensor, ...]:
        images, labels, indices = items
        images, labels = self.transform((images, labels), random)
        return images, labels, indices
