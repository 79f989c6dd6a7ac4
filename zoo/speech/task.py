"""Speech on the shared trainer: keyword spotting (cross-entropy, accuracy, macro F1) and speech-to-text (CTC, CER).

    python -m zoo.train --task speech                                  # keyword spotting on the embedded words
    python -m zoo.train --task speech --model crnn_ctc                 # speech-to-text on embedded utterances
    python -m zoo.train --task speech --model conformer_ctc --dataset librispeech data.args.root=~/data \
        trainer.device=cuda trainer.precision=bf16
    python -m zoo predict --checkpoint runs/speech/RUN clip.wav other.flac

Each problem is its own Task on :class:`SpeechTask`: :class:`KeywordSpotting` classifies clips, :class:`Transcription`
trains CTC on transcripts (and ``zoo.speech.intent.SpokenIntent`` reads slots); each model names its problem in the index. Keyword datasets carry both labels and the words said, so they serve
both; utterance datasets carry transcripts only. Features (``task_args.features``) are computed inside the model,
batched on its device; background noise from the dataset's recordings is mixed in per batch during training.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchmetrics import MetricCollection
from torchmetrics.classification import MulticlassAccuracy, MulticlassF1Score
from torchmetrics.text import CharErrorRate, WordErrorRate

from zoo.errors import ConfigError
from zoo.speech import text as text_ops
from zoo.speech.audio import fix_length, load_audio
from zoo.speech.datasets import AudioSplit
from zoo.speech.embedded import WAKE_WORD
from zoo.speech.stream import (StreamSettings, StreamWindows, WakeWordRates, collate_windows, curve, detect,
                               window_scores)
from zoo.speech.features import feature_config
from zoo.task import StepOutput, Task, TaskData, evaluated_split


@dataclass
class SpeechOptions:
    features: str = "logmel"  # logmel or mfcc; the raw-waveform CNN and wav2vec2 read samples and ignore these
    n_mels: int = 40
    n_mfcc: int = 40  # mfcc: coefficients kept
    win_ms: float = 25.0
    hop_ms: float = 10.0
    freq_mask: int = 0  # SpecAugment in training: widest frequency mask (feature bins); 0 turns it off
    time_mask: int = 0  # widest time mask (frames); 0 turns it off
    masks: int = 2  # masks of each kind per example
    noise_prob: float = 0.0  # share of training examples mixed with the dataset's background recordings
    noise_snr_db: tuple[float, float] = (0.0, 20.0)  # their signal-to-noise ratio, drawn uniformly
    time_shift_ms: float = 0.0  # keyword spotting: shift training clips by up to this much either way
    label_smoothing: float = 0.0  # keyword spotting
    bucket_by_length: bool = True  # speech-to-text: batch utterances of similar length (less padding)
    beam_width: int = 1  # speech-to-text decoding: 1 is greedy; more runs a prefix beam search (slower)
    top_k: int = 3  # keyword spotting: classes shown per file by predict


class SpeechTask(Task):
    """What every speech problem shares: audio splits, features computed in the model, background noise mixed into
    training batches, one prediction per file. Each problem brings what it reads from its data (:meth:`describe`),
    its batches, loss, metrics and the prediction of one waveform."""

    Options = SpeechOptions
    problem = ""
    split_fields: tuple[str, ...] = ("classes", "sample_rate")  # what every split of one dataset must agree on
    saved_fields: tuple[str, ...] = ("problem", "classes", "sample_rate")  # what a checkpoint's data must match
    bucketed = False  # batch examples of similar length (with ``task_args.bucket_by_length``)

    def __init__(self, config: Any):
        super().__init__(config)
        self.noise: tuple[Tensor, Tensor, Tensor] | None = None  # recordings end to end, starts, sizes
        o = self.options
        if not 0.0 <= o.noise_prob <= 1.0 or o.beam_width < 1:
            raise ConfigError("task_args.noise_prob must be in [0, 1] and task_args.beam_width at least 1")

    # -- data ---------------------------------------------------------------------------------------------------
    def build_data(self, splits: Sequence[str]) -> TaskData:
        loaded: dict[str, Any] = {split: self.load_split(split) for split in splits}
        ref = loaded.get("train") or next(iter(loaded.values()))
        for split, data in loaded.items():
            if any(getattr(data, key, None) != getattr(ref, key, None) for key in self.split_fields):
                raise ConfigError(f"split {split!r} has other {' or '.join(self.split_fields)} than the others")
        info: dict[str, Any] = {"problem": self.problem, "sample_rate": ref.sample_rate,
                                "features": self.feature_settings(ref.sample_rate)}
        info.update(self.describe(ref, loaded))
        if self.saved_info is not None:
            self._check_saved(info)
            info = dict(self.saved_info)
        self.adopt(info)
        if "train" in loaded and loaded["train"].noise:
            self.noise = _noise_bank(loaded["train"].noise)
        bucket = self.bucketed and self.options.bucket_by_length
        evaluated = evaluated_split(loaded)
        return TaskData(
            train=loaded["train"].dataset if "train" in loaded else None,
            val=evaluated.dataset if evaluated is not None else None,
            info=info,
            collate=self.collate(info),
            train_transform=self.train_transform(ref.sample_rate),
            train_lengths=loaded["train"].lengths if bucket and "train" in loaded else None,
            val_lengths=evaluated.lengths if bucket and evaluated is not None else None,
        )

    def feature_settings(self, sample_rate: int) -> dict[str, Any]:
        o = self.options
        return feature_config(dict(
            sample_rate=sample_rate, kind=o.features, n_mels=o.n_mels, n_mfcc=o.n_mfcc, win_ms=o.win_ms,
            hop_ms=o.hop_ms, freq_mask=o.freq_mask, time_mask=o.time_mask, masks=o.masks,
        )).to_dict()

    def describe(self, ref: Any, loaded: dict[str, Any]) -> dict[str, Any]:
        """What this problem reads from the data into ``info`` (classes, vocabulary, slots)."""
        raise NotImplementedError

    def adopt(self, info: dict[str, Any]) -> None:
        """Take what the steps need from the final ``info`` (a checkpoint's, when evaluating one)."""

    def collate(self, info: dict[str, Any]) -> Any:
        raise NotImplementedError

    def train_transform(self, sample_rate: int) -> Any:
        return None

    def _check_saved(self, info: dict[str, Any]) -> None:
        saved = self.saved_info or {}
        for key in self.saved_fields:
            if key in saved and key in info and saved[key] != info[key]:
                raise ConfigError(f"the checkpoint was trained with {key} {saved[key]}, but dataset "
                                  f"{self.config.data.dataset!r} has {info[key]}; evaluate it on matching data")

    def _add_noise(self, waves: Tensor, lengths: Tensor) -> Tensor:
        """Mix a random excerpt of a background recording into a ``noise_prob`` share of the batch, at a random SNR."""
        if self.noise is None or self.options.noise_prob <= 0:
            return waves
        bank, starts, sizes = (t.to(waves.device) for t in self.noise)
        self.noise = (bank, starts, sizes)
        count, samples = waves.shape
        device = waves.device
        pick = torch.randint(len(starts), (count,), device=device)
        offset = (torch.rand(count, device=device) * sizes[pick]).long()
        index = starts[pick, None] + (offset[:, None] + torch.arange(samples, device=device)) % sizes[pick, None]
        noise = bank[index]
        valid = torch.arange(samples, device=device)[None, :] < lengths[:, None]
        power = lambda x: (x.square() * valid).sum(1) / lengths.clamp(min=1)  # noqa: E731
        low, high = self.options.noise_snr_db
        snr = low + (high - low) * torch.rand(count, device=device)
        scale = torch.sqrt(power(waves) / power(noise).clamp(min=1e-10) * 10 ** (-snr / 10))
        scale = scale * (torch.rand(count, device=device) < self.options.noise_prob)
        return waves + noise * valid * scale[:, None]

    # -- prediction ---------------------------------------------------------------------------------------------
    @torch.no_grad()
    def predict(
        self, model: nn.Module, inputs: Sequence[str], info: dict[str, Any], device: torch.device, options: Any = None
    ) -> list[dict[str, Any]]:
        model.eval()
        self.adopt(info)
        return [{"input": str(path), **self.predict_wave(model, load_audio(path, info["sample_rate"]), info, device)}
                for path in inputs]

    def predict_wave(self, model: nn.Module, wave: Tensor, info: dict[str, Any],
                     device: torch.device) -> dict[str, Any]:
        """The prediction for one waveform at ``info["sample_rate"]``."""
        raise NotImplementedError

    def write_samples(self, directory: Path, count: int) -> list[Path]:
        """Clips of the validation split as 16-bit WAV (keywords, a few of each) or FLAC (utterances), named after
        their word; ``references.json`` holds each file's word or transcript."""
        import soundfile

        from zoo import samples

        split = self.load_split("val")
        directory.mkdir(parents=True, exist_ok=True)
        dataset = split.dataset
        labels = getattr(dataset, "labels", None)
        if split.classes is None:
            label_of = None
        elif labels is not None:
            label_of = labels.__getitem__
        else:
            label_of = lambda i: dataset[i][1]  # noqa: E731
        paths, references = [], {}
        for index in samples.pick(len(dataset), count, label_of):
            wave, label, text = dataset[index]
            word = split.classes[label] if split.classes is not None else None
            path = directory / samples.file_name(index, word or "utterance", ".wav" if word else ".flac")
            soundfile.write(str(path), wave.numpy(), split.sample_rate, subtype="PCM_16")
            paths.append(path)
            references[path.name] = word if word is not None else text
        samples.write_references(directory, references)
        return paths


def _noise_bank(recordings: list[Tensor]) -> tuple[Tensor, Tensor, Tensor]:
    sizes = torch.tensor([len(r) for r in recordings])
    starts = torch.cumsum(sizes, 0) - sizes
    return torch.cat(recordings).float(), starts, sizes


def _ctc_loss(logits: Tensor, frames: Tensor, batch: dict[str, Any]) -> Tensor:
    """CTC loss per character, averaged over utterances; an empty transcript (silence) is a valid target."""
    log_probs = logits.float().log_softmax(-1).transpose(0, 1)
    losses = F.ctc_loss(log_probs, batch["targets"], frames, batch["target_lengths"], blank=0, reduction="none",
                        zero_infinity=True)
    return (losses / batch["target_lengths"].clamp(min=1)).mean()


class Collate:
    """Pad waveforms into ``waves`` (B, samples) with ``lengths``; add ``labels``, or CTC targets and texts."""

    def __init__(self, vocab: list[str] | None):
        self.vocab = text_ops.Vocabulary(vocab) if vocab else None

    def __call__(self, items: list[tuple[Tensor, int, str]]) -> dict[str, Any]:
        waves = [item[0] for item in items]
        batch: dict[str, Any] = {
            "waves": nn.utils.rnn.pad_sequence(waves, batch_first=True),
            "lengths": torch.tensor([len(w) for w in waves]),
        }
        if self.vocab is None:
            batch["labels"] = torch.tensor([item[1] for item in items], dtype=torch.int64)
            return batch
        ids = [torch.tensor(self.vocab.encode(item[2]), dtype=torch.int64) for item in items]
        batch["targets"] = nn.utils.rnn.pad_sequence(ids, batch_first=True) if any(len(i) for i in ids) else \
            torch.zeros(len(ids), 1, dtype=torch.int64)
        batch["target_lengths"] = torch.tensor([len(i) for i in ids])
        batch["texts"] = [text_ops.normalise(item[2]) for item in items]
        return batch


class TimeShift:
    """Shift a clip by up to ``samples`` either way, filling with zeros (per item, seeded by the trainer)."""

    def __init__(self, samples: int):
        self.samples = samples

    def __call__(self, item: tuple[Tensor, int, str]) -> tuple[Tensor, int, str]:
        wave, label, words = item
        shift = int(torch.randint(-self.samples, self.samples + 1, ()))
        if shift > 0:
            wave = torch.cat([torch.zeros(shift), wave[:-shift]])
        elif shift < 0:
            wave = torch.cat([wave[-shift:], torch.zeros(-shift)])
        return wave, label, words


@dataclass
class KeywordPredictOptions:
    stream: bool = field(default=False, metadata={"help": "slide the model over long recordings and print when the "
                                                          "wake word was heard"})
    wake_word: str = field(default="", metadata={"help": "the class to listen for with --stream (default: the "
                                                         "embedded long-audio split's, 'stop')"})
    threshold: float = field(default=StreamSettings.threshold, metadata={"help": "smoothed probability that fires"})
    smoothing_ms: float = field(default=StreamSettings.smoothing_ms, metadata={"help": "probabilities averaged over"})
    refractory_ms: float = field(default=StreamSettings.refractory_ms,
                                 metadata={"help": "nothing fires this long after a detection"})
    hop_ms: float = field(default=StreamSettings.hop_ms, metadata={"help": "between windows"})


class KeywordSpotting(SpeechTask):
    """Keyword clips; also a wake word in long recordings (``predict --stream``, ``evaluate --split stream``)."""

    problem = "keywords"
    monitor, monitor_mode = "accuracy", "max"
    PredictOptions = KeywordPredictOptions
    stream: tuple[Any, int] | None = None  # the long recording being evaluated, and the wake word's class

    def describe(self, ref: AudioSplit, loaded: dict[str, AudioSplit]) -> dict[str, Any]:
        if ref.classes is None:
            raise ConfigError(
                f"dataset {self.config.data.dataset!r} holds transcripts, not keyword classes, so model "
                f"{self.config.model.name!r} (a keyword classifier) cannot train on it; choose a speech-to-text model: "
                f"--model {' | '.join(self.entry.models_for('transcription'))}"
            )
        return {"classes": list(ref.classes), "num_classes": len(ref.classes), "clip_samples": ref.clip_samples}

    def collate(self, info: dict[str, Any]) -> Any:
        return Collate(None)

    def train_transform(self, sample_rate: int) -> Any:
        shift = round(self.options.time_shift_ms * sample_rate / 1000)
        return TimeShift(shift) if shift else None

    def model_defaults(self, info: dict[str, Any]) -> dict[str, Any]:
        return {"num_classes": info["num_classes"], "features": info["features"]}

    def train_step(self, model: nn.Module, batch: dict[str, Any]) -> StepOutput:
        logits = model(self._add_noise(batch["waves"], batch["lengths"]), batch["lengths"])
        loss = F.cross_entropy(logits.float(), batch["labels"], label_smoothing=self.options.label_smoothing)
        return StepOutput(loss, len(batch["labels"]))

    def build_data(self, splits: Sequence[str]) -> TaskData:
        if "stream" not in splits:
            return super().build_data(splits)
        if self.saved_info is None:
            raise ConfigError("split 'stream' is for evaluating a trained keyword model: zoo evaluate --checkpoint RUN "
                              "--split stream")
        split = self.load_split("stream")
        if split.stream is None:
            raise ConfigError(f"dataset {self.config.data.dataset!r} has no long-audio split; the embedded 'keywords' "
                              "set has one (or use zoo predict --stream on your own recording)")
        info = dict(self.saved_info)
        if list(split.classes or []) != list(info["classes"]):
            raise ConfigError("the checkpoint's classes differ from the long-audio split's; evaluate it on the data "
                              "it was trained on")
        self.stream = (split.stream, wake_index(info, split.stream.wake_word))
        dataset = StreamWindows(split.stream, info["clip_samples"], round(StreamSettings.hop_ms * split.sample_rate
                                                                           / 1000))
        return TaskData(train=None, val=dataset, info=info, collate=collate_windows)

    def build_metrics(self, info: dict[str, Any]) -> MetricCollection:
        if self.stream is None:
            n = info["num_classes"]
            return MetricCollection(
                {"accuracy": MulticlassAccuracy(n, average="micro"), "f1_macro": MulticlassF1Score(n, average="macro")}
            )
        return MetricCollection({"wake": WakeWordRates(self.stream[0], StreamSettings(),
                                                       info["clip_samples"] / info["sample_rate"])})

    def eval_step(self, model: nn.Module, batch: dict[str, Any], metrics: MetricCollection) -> StepOutput:
        if "window" not in batch:
            logits = model(batch["waves"], batch["lengths"]).float()
            metrics.update(logits, batch["labels"])
            return StepOutput(F.cross_entropy(logits, batch["labels"]), len(batch["labels"]))
        probs = model(batch["waves"], batch["lengths"]).float().softmax(-1)[:, self.stream[1]]
        metrics.update(probs, batch["window"])
        loss = F.binary_cross_entropy(probs.clamp(1e-6, 1 - 1e-6), batch["inside"])  # the whole word in the window
        return StepOutput(loss, len(probs))

    @torch.no_grad()
    def report(self, model: nn.Module, batches: Iterable[Any], info: dict[str, Any], directory: Path) -> list[Path]:
        """Clips: the confusion matrix. The long-audio split: detection rate against false alarms per hour."""
        from zoo import plots

        if self.stream is None:
            predicted, target = [], []
            for batch in batches:
                predicted.append(model(batch["waves"], batch["lengths"]).argmax(-1).cpu())
                target.append(batch["labels"].cpu())
            matrix = plots.class_confusion(torch.cat(predicted), torch.cat(target), len(info["classes"]))
            path = directory / "confusion_matrix.png"
            return [plots.confusion_matrix(matrix, info["classes"], path, "keyword confusion matrix")]

        metric = WakeWordRates(self.stream[0], StreamSettings(), info["clip_samples"] / info["sample_rate"])
        for batch in batches:
            metric.update(model(batch["waves"], batch["lengths"]).float().softmax(-1)[:, self.stream[1]].cpu(),
                          batch["window"].cpu())
        audio = self.stream[0]
        points = curve(metric.track(), audio.events, audio.hours, StreamSettings(), metric.clip_s)
        directory.mkdir(parents=True, exist_ok=True)
        table = directory / "wake_word_curve.tsv"
        table.write_text("threshold\tdetection_rate\tfalse_alarms_per_hour\n" +
                         "".join(f"{t:.4f}\t{r:.4f}\t{a:.2f}\n" for t, r, a in points))
        path = directory / "wake_word_curve.png"
        with plots.figure(path, f"wake word {audio.wake_word!r}: {len(audio.events)} in {audio.hours * 60:.0f} min",
                          figsize=(5, 4)) as fig:
            axes = fig.add_subplot(1, 1, 1)
            axes.plot([max(a, 0.1) for _, _, a in points], [r for _, r, _ in points], marker=".")
            axes.axvline(1.0, color="grey", linestyle="--", linewidth=0.8)
            axes.set_xscale("log")
            axes.set_xlabel("false alarms per hour (0 drawn at 0.1)")
            axes.set_ylabel("detection rate")
            axes.set_ylim(0, 1.02)
            axes.grid(alpha=0.3)
        return [path, table]

    def predict(self, model: nn.Module, inputs: Sequence[str], info: dict[str, Any], device: torch.device,
                options: Any = None) -> list[dict[str, Any]]:
        if options is None or not options.stream:
            return super().predict(model, inputs, info, device)
        if not inputs:
            raise ConfigError("predict --stream needs at least one recording, e.g. long.wav")
        settings = StreamSettings(options.threshold, options.smoothing_ms, options.refractory_ms, options.hop_ms)
        word = options.wake_word or WAKE_WORD
        index = wake_index(info, word)
        results = []
        for path in inputs:
            wave = load_audio(path, info["sample_rate"])
            found = listen(model, wave, info, index, settings, device)
            results.append({"input": str(path), "wake_word": word, "detections": found})
        return results

    def predict_wave(self, model: nn.Module, wave: Tensor, info: dict[str, Any],
                     device: torch.device) -> dict[str, Any]:
        wave = fix_length(wave, info["clip_samples"])
        probs = model(wave[None].to(device), torch.tensor([len(wave)], device=device)).float().softmax(-1)[0].cpu()
        top = probs.topk(min(self.options.top_k, len(probs)))
        ranked = [{"label": info["classes"][i], "prob": round(float(p), 4)}
                  for p, i in zip(top.values.tolist(), top.indices.tolist())]
        return {"label": ranked[0]["label"], "prob": ranked[0]["prob"], "top": ranked}

    def format_prediction(self, prediction: dict[str, Any]) -> str:
        if "detections" not in prediction:
            others = ", ".join(f"{t['label']} {t['prob']:.3f}" for t in prediction["top"][1:])
            best = f"{prediction['input']}: {prediction['label']} {prediction['prob']:.3f}"
            return best + (f" ({others})" if others else "")
        heard = ", ".join(f"{d['time']:.2f} s ({d['score']:.3f})" for d in prediction["detections"])
        return f"{prediction['input']}: {prediction['wake_word']!r} " + (f"heard at {heard}" if heard else "not heard")


def wake_index(info: dict[str, Any], word: str) -> int:
    if word not in info["classes"]:
        raise ConfigError(f"wake word {word!r} is not a class of this keyword model; its classes: "
                          f"{', '.join(c for c in info['classes'] if not c.startswith('_'))}")
    return info["classes"].index(word)


def listen(model: nn.Module, wave: Tensor, info: dict[str, Any], index: int, settings: StreamSettings,
           device: torch.device) -> list[dict[str, Any]]:
    """Detections (time in seconds, smoothed score) of class ``index`` in a long waveform."""
    hop = round(settings.hop_ms * info["sample_rate"] / 1000)
    if hop < 1 or settings.smoothing_ms < 0 or settings.refractory_ms < 0:
        raise ConfigError("--hop-ms must be positive and --smoothing-ms, --refractory-ms not negative")
    scores = window_scores(model, wave, info["clip_samples"], hop, index, device)
    return detect(scores, settings, info["clip_samples"] / info["sample_rate"])


class Transcription(SpeechTask):
    """Speech-to-text: CTC over the characters of the training transcripts, decoded greedily or by beam search."""

    problem = "transcription"
    monitor, monitor_mode = "cer", "min"
    saved_fields = ("problem", "sample_rate")
    bucketed = True
    vocab: text_ops.Vocabulary | None = None

    def describe(self, ref: AudioSplit, loaded: dict[str, AudioSplit]) -> dict[str, Any]:
        if self.saved_info is not None:
            return {"vocab": list(self.saved_info["vocab"])}
        train = loaded["train"] if "train" in loaded else self.load_split("train")
        return {"vocab": text_ops.Vocabulary.from_texts(train.dataset.texts).tokens}

    def adopt(self, info: dict[str, Any]) -> None:
        self.vocab = text_ops.Vocabulary(info["vocab"])

    def collate(self, info: dict[str, Any]) -> Any:
        return Collate(info["vocab"])

    def model_defaults(self, info: dict[str, Any]) -> dict[str, Any]:
        return {"vocab_size": len(info["vocab"]), "features": info["features"]}

    def build_metrics(self, info: dict[str, Any]) -> MetricCollection:
        return MetricCollection({"cer": CharErrorRate(), "wer": WordErrorRate()})

    def train_step(self, model: nn.Module, batch: dict[str, Any]) -> StepOutput:
        logits, frames = model(self._add_noise(batch["waves"], batch["lengths"]), batch["lengths"])
        return StepOutput(_ctc_loss(logits, frames, batch), len(batch["texts"]))

    def eval_step(self, model: nn.Module, batch: dict[str, Any], metrics: MetricCollection) -> StepOutput:
        logits, frames = model(batch["waves"], batch["lengths"])
        metrics.update(self._transcribe(logits, frames), batch["texts"])
        return StepOutput(_ctc_loss(logits, frames, batch), len(batch["texts"]))

    def _transcribe(self, logits: Tensor, frames: Tensor) -> list[str]:
        vocab = self.vocab
        if self.options.beam_width <= 1:
            return [vocab.decode(ids) for ids in text_ops.greedy_decode(logits, frames)]
        log_probs = logits.float().log_softmax(-1)
        return [vocab.decode(text_ops.beam_decode(lp, int(n), self.options.beam_width))
                for lp, n in zip(log_probs, frames.tolist())]

    @torch.no_grad()
    def report(self, model: nn.Module, batches: Iterable[Any], info: dict[str, Any], directory: Path) -> list[Path]:
        """The worst transcripts by CER, beside their references."""
        from torchmetrics.functional.text import char_error_rate

        pairs = []
        for batch in batches:
            logits, frames = model(batch["waves"], batch["lengths"])
            for hypothesis, reference in zip(self._transcribe(logits, frames), batch["texts"]):
                cer = float(char_error_rate(hypothesis, reference)) if reference else float(bool(hypothesis))
                pairs.append((cer, reference, hypothesis))
        pairs.sort(key=lambda pair: -pair[0])
        path = directory / "transcripts.txt"
        directory.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"CER {cer:.2f}\n  reference:  {ref}\n  hypothesis: {hyp}\n"
                                for cer, ref, hyp in pairs[:50]))
        return [path]

    def predict_wave(self, model: nn.Module, wave: Tensor, info: dict[str, Any],
                     device: torch.device) -> dict[str, Any]:
        logits, frames = model(wave[None].to(device), torch.tensor([len(wave)], device=device))
        return {"transcript": self._transcribe(logits, frames)[0]}

    def format_prediction(self, prediction: dict[str, Any]) -> str:
        return f"{prediction['input']}: {prediction['transcript']}"
