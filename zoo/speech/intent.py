"""Spoken intent on the shared trainer: one cross-entropy per slot, scored as a whole and per slot.

    python -m zoo.train --task speech --problem intent                       # embedded commands, CPU, minutes
    python -m zoo.train --task speech --problem intent --dataset fluent_speech_commands \
        data.args.root=~/data/fluent_speech_commands_dataset trainer.device=cuda
    python -m zoo.train --task speech --model wav2vec2_intent model.pretrained=hubert_asr_large \
        --dataset fluent_speech_commands data.args.root=~/data/fsc trainer.device=cuda trainer.precision=bf16
    python -m zoo predict --checkpoint runs/speech/RUN command.wav

``accuracy`` counts an utterance only when every slot is right (the figure Fluent Speech Commands results quote);
``<slot>_accuracy`` scores each slot alone. A prediction names each slot's value, the intent (the values joined by
``_``, as ``activate_lights_kitchen``) and the lowest of the slots' probabilities as its confidence.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchmetrics import Metric, MetricCollection

from zoo import registry
from zoo.errors import ConfigError
from zoo.speech.intent_models import split_logits
from zoo.speech.intents import IntentSplit
from zoo.speech.task import SpeechTask
from zoo.task import StepOutput, call_with_args


class SlotAccuracy(Metric):
    """Share of utterances whose slot ``slot`` is right, or whose every slot is right (``slot=None``)."""

    full_state_update = False

    def __init__(self, slot: int | None = None):
        super().__init__()
        self.slot = slot
        self.add_state("correct", torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")
        self.add_state("total", torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, predicted: Tensor, target: Tensor) -> None:
        right = predicted == target if self.slot is None else predicted[:, self.slot : self.slot + 1] == \
            target[:, self.slot : self.slot + 1]
        self.correct += right.all(dim=1).sum()
        self.total += target.shape[0]

    def compute(self) -> Tensor:
        return self.correct.float() / self.total.clamp(min=1)


def slot_names(info: dict[str, Any]) -> list[str]:
    return list(info["slots"])


def decode(logits: Tensor, info: dict[str, Any]) -> list[dict[str, Any]]:
    """Slot values, intent and confidence of each row of concatenated slot logits."""
    sizes = [len(values) for values in info["slots"].values()]
    probs = [block.float().softmax(-1) for block in split_logits(logits, sizes)]
    best = [p.max(-1) for p in probs]
    out = []
    for row in range(logits.shape[0]):
        slots = {name: info["slots"][name][int(b.indices[row])] for name, b in zip(info["slots"], best)}
        confidence = min(float(b.values[row]) for b in best)
        out.append({"intent": "_".join(v.replace(" ", "_") for v in slots.values()), "slots": slots,
                    "confidence": round(confidence, 4)})
    return out


class SpokenIntent(SpeechTask):
    """Action, object and location (or the dataset's own slots) of a spoken command."""

    problem = "intent"
    monitor, monitor_mode = "accuracy", "max"

    split_fields = ("slots", "sample_rate")
    saved_fields = ("problem", "slots", "sample_rate")
    bucketed = True
    slot_sizes: list[int] = []

    # -- data ---------------------------------------------------------------------------------------------------
    def describe(self, ref: Any, loaded: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(ref, IntentSplit):
            raise ConfigError(f"dataset {self.config.data.dataset!r} holds no intent slots; intent datasets: "
                              f"{', '.join(self.entry.datasets_for('intent'))}")
        return {"slots": ref.slots}

    def adopt(self, info: dict[str, Any]) -> None:
        self.slot_sizes = [len(v) for v in info["slots"].values()]

    def collate(self, info: dict[str, Any]) -> Any:
        return collate_intents

    # -- model --------------------------------------------------------------------------------------------------
    def build_model(self, info: dict[str, Any]) -> nn.Module:
        """The model of ``model.args``; ``model.pretrained`` goes to a builder that takes ``pretrained`` when a run
        starts, and the architecture it read is saved in ``info["model_args"]`` so the checkpoint rebuilds it."""
        entry = self.entry.model(self.config.model.name)
        builder = registry.load_object(entry.builder)
        self.slot_sizes = [len(v) for v in info["slots"].values()]
        defaults = {"slot_sizes": self.slot_sizes, "features": info["features"], "info": info}
        args = {**self.config.model.args, **info.get("model_args", {})}
        pretrained = self.config.model.pretrained
        if pretrained and self.saved_info is None:
            import inspect

            if "pretrained" not in inspect.signature(builder).parameters:
                raise ConfigError(f"model {entry.name!r} reads no pretrained weights (model.pretrained="
                                  f"{pretrained}); models that do: wav2vec2_intent, asr_intent")
            defaults["pretrained"] = pretrained
        model = call_with_args(builder, args, defaults, "model.args", entry.builder)
        if getattr(model, "architecture", None):
            info["model_args"] = dict(model.architecture)
        return model

    # -- steps and metrics ----------------------------------------------------------------------------------------
    def build_metrics(self, info: dict[str, Any]) -> MetricCollection:
        metrics: dict[str, Metric] = {"accuracy": SlotAccuracy()}
        metrics.update({f"{name.replace(' ', '_')}_accuracy": SlotAccuracy(i) for i, name in
                        enumerate(slot_names(info))})
        return MetricCollection(metrics)

    def _loss(self, logits: Tensor, targets: Tensor) -> Tensor:
        blocks = split_logits(logits.float(), self.slot_sizes)
        return sum(F.cross_entropy(block, targets[:, i], label_smoothing=self.options.label_smoothing)
                   for i, block in enumerate(blocks))

    def train_step(self, model: nn.Module, batch: dict[str, Any]) -> StepOutput:
        waves = self._add_noise(batch["waves"], batch["lengths"])
        out = model(waves, batch["lengths"], batch) if getattr(model, "takes_batch", False) else \
            model(waves, batch["lengths"])
        if isinstance(out, tuple):  # a model with a loss of its own besides the slots (asr_intent's CTC)
            logits, extra = out
            return StepOutput(self._loss(logits, batch["targets"]) + extra, len(batch["targets"]))
        return StepOutput(self._loss(out, batch["targets"]), len(batch["targets"]))

    def eval_step(self, model: nn.Module, batch: dict[str, Any], metrics: MetricCollection) -> StepOutput:
        logits = model(batch["waves"], batch["lengths"]).float()
        predicted = torch.stack([block.argmax(-1) for block in split_logits(logits, self.slot_sizes)], dim=1)
        metrics.update(predicted, batch["targets"])
        return StepOutput(self._loss(logits, batch["targets"]), len(batch["targets"]))

    # -- prediction ---------------------------------------------------------------------------------------------
    @torch.no_grad()
    def classify(self, model: nn.Module, waves: list[Tensor], info: dict[str, Any],
                 device: torch.device) -> list[dict[str, Any]]:
        """Slots of each waveform (at ``info["sample_rate"]``), batched."""
        model.eval()
        if not waves:
            return []
        batch = nn.utils.rnn.pad_sequence(waves, batch_first=True).to(device)
        lengths = torch.tensor([len(w) for w in waves], device=device)
        return decode(model(batch, lengths), info)

    def predict_wave(self, model: nn.Module, wave: Tensor, info: dict[str, Any],
                     device: torch.device) -> dict[str, Any]:
        [result] = self.classify(model, [wave], info, device)
        return result

    def format_prediction(self, prediction: dict[str, Any]) -> str:
        slots = ", ".join(f"{k}={v}" for k, v in prediction["slots"].items())
        return f"{prediction['input']}: {prediction['intent']} ({slots}; confidence {prediction['confidence']:.3f})"

    def write_samples(self, directory: Path, count: int) -> list[Path]:
        """Commands of the validation split as 16-bit WAV named after their intent, with their slots and words in
        ``references.json``; and ``assistant.wav``, a minute of speech and noise in which the wake word is followed
        by commands, for ``zoo assistant`` (its references list the times)."""
        import soundfile

        from zoo import samples

        split = self.load_split("val")
        directory.mkdir(parents=True, exist_ok=True)
        dataset = split.dataset
        targets = dataset.targets
        names = list(split.slots)
        paths, references = [], {}
        for index in samples.pick(len(dataset), count, lambda i: targets[i]):
            wave, ids, text = dataset[index]
            slots = {name: split.slots[name][i] for name, i in zip(names, ids)}
            intent = "_".join(v.replace(" ", "_") for v in slots.values())
            path = directory / samples.file_name(index, intent, ".wav")
            soundfile.write(str(path), wave.numpy(), split.sample_rate, subtype="PCM_16")
            paths.append(path)
            references[path.name] = {"intent": intent, "slots": slots, "transcript": text}
        if self.config.data.dataset == "commands":
            from zoo.speech.stream import assistant_sample

            wave, events = assistant_sample(max(1, min(count, 6)))
            path = directory / "assistant.wav"
            soundfile.write(str(path), wave.numpy(), split.sample_rate, subtype="PCM_16")
            paths.append(path)
            references[path.name] = events
        samples.write_references(directory, references)
        return paths

    # -- figures ------------------------------------------------------------------------------------------------
    @torch.no_grad()
    def report(self, model: nn.Module, batches: Iterable[Any], info: dict[str, Any], directory: Path) -> list[Path]:
        """A confusion matrix per slot."""
        from zoo import plots

        sizes = [len(v) for v in info["slots"].values()]
        predicted, target = [], []
        for batch in batches:
            logits = model(batch["waves"], batch["lengths"]).float()
            predicted.append(torch.stack([b.argmax(-1) for b in split_logits(logits, sizes)], 1).cpu())
            target.append(batch["targets"].cpu())
        predicted_all, target_all = torch.cat(predicted), torch.cat(target)
        figures = []
        for i, (name, values) in enumerate(info["slots"].items()):
            matrix = plots.class_confusion(predicted_all[:, i], target_all[:, i], len(values))
            path = directory / f"confusion_{name.replace(' ', '_')}.png"
            figures.append(plots.confusion_matrix(matrix, values, path, f"{name} confusion matrix"))
        return figures


def collate_intents(items: list[tuple[Tensor, tuple[int, ...], str]]) -> dict[str, Any]:
    """Pad waveforms into ``waves`` (B, samples) with ``lengths``; slot ids as ``targets`` (B, slots); ``texts``."""
    waves = [item[0] for item in items]
    return {
        "waves": nn.utils.rnn.pad_sequence(waves, batch_first=True),
        "lengths": torch.tensor([len(w) for w in waves]),
        "targets": torch.tensor([list(item[1]) for item in items], dtype=torch.int64),
        "texts": [item[2] for item in items],
    }
