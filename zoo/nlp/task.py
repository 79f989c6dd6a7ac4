"""Text classification on the shared trainer: cross-entropy, accuracy and macro F1, label probabilities per text.

    python -m zoo.train --task nlp                                     # BERT-Tiny from scratch on the embedded corpus
    python -m zoo.train --task nlp --model pretrained --dataset text_files \
        model.pretrained=path/to/bert data.args.train=reviews.csv trainer.device=cuda
    python -m zoo predict --checkpoint runs/nlp/RUN "A fine cast, but the plot was dull."

Texts are tokenized once when the data is built (a tokenizer trained on the training texts, or the checkpoint's
own when ``model.pretrained`` names one) and batches are padded to their longest text. The tokenizer and, for
a pretrained model, its transformers config go into the checkpoint's ``info``, so evaluation and prediction need
nothing but the checkpoint.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import Dataset
from torchmetrics import MetricCollection
from torchmetrics.classification import MulticlassAccuracy, MulticlassF1Score

from zoo import registry
from zoo.errors import ConfigError
from zoo.nlp import tokenization
from zoo.nlp.datasets import TextSplit
from zoo.task import StepOutput, Task, TaskData, evaluated_split


@dataclass
class NLPOptions:
    max_length: int = 128  # tokens per text, special tokens included; longer texts are truncated
    tokenizer: Literal["wordpiece", "bpe"] = "wordpiece"  # trained from scratch; a pretrained model brings its own
    vocab_size: int = 8000  # rows of a from-scratch model's embedding table; the tokenizer learns at most this many
    lowercase: bool = True
    min_frequency: int = 2  # a piece seen fewer times is not added to the trained vocabulary
    label_smoothing: float = 0.0
    bucket_by_length: bool = False  # batch texts of similar length: much less padding on long, varied texts
    predict_batch_size: int = 64


class TokenizedTexts(Dataset):
    """Token ids of many texts in one flat int32 array; an item is ``(ids, label)`` with ids an int64 tensor."""

    def __init__(self, ids: Sequence[Sequence[int]], labels: Sequence[int]):
        lengths = np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))
        self.offsets = np.concatenate([[0], np.cumsum(lengths)])
        self.flat = np.fromiter((t for x in ids for t in x), dtype=np.int32, count=int(self.offsets[-1]))
        self.labels = np.asarray(labels, dtype=np.int64)
        self.fitted: dict[str, tuple[Any, Any, str]] = {}  # keys fitted to these texts (zoo.fit reads them)

    def __len__(self) -> int:
        return len(self.labels)

    def lengths(self) -> list[int]:
        return np.diff(self.offsets).tolist()

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        start, end = self.offsets[index], self.offsets[index + 1]
        return torch.from_numpy(self.flat[start:end].astype(np.int64)), int(self.labels[index])


class PadBatch:
    """Collate ``(ids, label)`` items into padded ``input_ids``, ``attention_mask`` and ``labels`` (picklable)."""

    def __init__(self, pad_token_id: int):
        self.pad_token_id = pad_token_id

    def __call__(self, items: list[tuple[Tensor, int]]) -> dict[str, Tensor]:
        ids = [item[0] for item in items]
        input_ids = nn.utils.rnn.pad_sequence(ids, batch_first=True, padding_value=self.pad_token_id)
        lengths = torch.tensor([len(x) for x in ids])
        attention_mask = (torch.arange(input_ids.shape[1])[None, :] < lengths[:, None]).long()
        return {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "labels": torch.tensor([item[1] for item in items], dtype=torch.int64),
        }


def _reads_own_weights(builder: str) -> bool:
    from zoo.pretrained import reads_own_weights

    return reads_own_weights(registry.load_object(builder))


def logits_of(model: nn.Module, batch: dict[str, Tensor]) -> Tensor:
    """Logits of a transformers model (its output's ``.logits``) or of a zoo baseline (the tensor itself)."""
    out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    return getattr(out, "logits", out)


class TextClassification(Task):
    monitor = "accuracy"
    monitor_mode = "max"
    Options = NLPOptions

    def build_data(self, splits: Sequence[str]) -> TaskData:
        loaded: dict[str, TextSplit] = {split: self.load_split(split) for split in splits}
        classes = next(iter(loaded.values())).classes
        for split, data in loaded.items():
            if data.classes != classes:
                raise ConfigError(f"split {split!r} has classes {data.classes}, another split has {classes}")
        self.fitted_keys: dict[str, tuple[Any, Any, str]] = {}
        encoder, info = self._encoder(loaded, classes)
        encoded = {split: TokenizedTexts(encoder.encode(data.texts), data.labels) for split, data in loaded.items()}
        if "train" in encoded:
            encoded["train"].fitted.update(self.fitted_keys)
        lengths = {split: d.lengths() for split, d in encoded.items()} if self.options.bucket_by_length else {}
        return TaskData(
            train=encoded.get("train"),
            val=evaluated_split(encoded),
            info=info,
            collate=PadBatch(encoder.pad_token_id),
            train_lengths=lengths.get("train"),
            val_lengths=evaluated_split(lengths),
        )

    def _encoder(
        self, loaded: dict[str, TextSplit], classes: list[str]
    ) -> tuple[tokenization.TextEncoder, dict[str, Any]]:
        """The saved tokenizer of a checkpoint being loaded, a pretrained model's own, or one trained here."""
        o = self.options
        info: dict[str, Any] = {"classes": list(classes), "num_classes": len(classes)}
        if self.saved_info is not None:
            saved = self.saved_info
            if list(saved["classes"]) != list(classes):
                raise ConfigError(
                    f"the checkpoint predicts the classes {saved['classes']}, but dataset "
                    f"{self.config.data.dataset!r} has {list(classes)}; evaluate it on data with the same classes"
                )
            max_length = min(o.max_length, saved["max_length"])
            return tokenization.TextEncoder.from_json(saved["tokenizer"], max_length, saved["pad_token_id"]), saved
        source = self.config.model.pretrained
        if not source and _reads_own_weights(self.entry.model(self.config.model.name).builder):
            raise ConfigError(
                f"model {self.config.model.name!r} fine-tunes a pretrained checkpoint: set model.pretrained "
                "to a local directory (config, weights, tokenizer), a Hugging Face hub id, or a zoo catalog name "
                "(python -m zoo checkpoints nlp)"
            )
        if source:
            from zoo.nlp.models import pretrained_config
            from zoo.pretrained import local_path

            checkpoint = local_path(self.config.task, self.config.model.name, source)

            hf_config = pretrained_config(str(checkpoint), len(classes))
            encoder = tokenization.pretrained_encoder(
                str(checkpoint), o.max_length, hf_config.get("max_position_embeddings")
            )
            vocab_size = int(hf_config.get("vocab_size") or encoder.tokenizer.get_vocab_size())
            info.update(tokenizer_source=f"pretrained: {source}", hf_config=hf_config)
        else:
            train = loaded["train"] if "train" in loaded else self.load_split("train")
            encoder = tokenization.trained_encoder(
                train.texts, o.vocab_size, o.max_length, o.tokenizer, o.lowercase, o.min_frequency
            )
            vocab_size = self._fitted_vocab_size(encoder.tokenizer.get_vocab_size(), len(train.texts))
            info["tokenizer_source"] = f"{o.tokenizer} trained on {self.config.data.dataset} (train split)"
        info.update(
            vocab_size=vocab_size,
            max_length=encoder.max_length,
            pad_token_id=encoder.pad_token_id,
            tokenizer=encoder.to_json(),
        )
        return encoder, info

    def _fitted_vocab_size(self, learned: int, texts: int) -> int:
        """The recipe's embedding rows, or the pieces the tokenizer learned when a recipe meets other data and
        learned fewer (rows no token maps to only cost memory); said at the run's start by zoo.fit."""
        from zoo.fit import needs_fitting

        asked = self.options.vocab_size
        if learned >= asked or "task_args.vocab_size" in self.config.adapted or not needs_fitting(self.config):
            return asked
        self.fitted_keys["task_args.vocab_size"] = (asked, learned, f"the {self.options.tokenizer} tokenizer learned "
                                                                    f"{learned} pieces from {texts} training texts")
        return learned

    def model_defaults(self, info: dict[str, Any]) -> dict[str, Any]:
        defaults = {
            "num_classes": info["num_classes"],
            "vocab_size": info["vocab_size"],
            "max_length": info["max_length"],
            "pad_token_id": info["pad_token_id"],
        }
        if self.saved_info is not None and "hf_config" in info:
            defaults["hf_config"] = info["hf_config"]  # rebuild the fine-tuned architecture; weights come from zoo
        return defaults

    def build_metrics(self, info: dict[str, Any]) -> MetricCollection:
        n = info["num_classes"]
        return MetricCollection(
            {"accuracy": MulticlassAccuracy(n, average="micro"), "f1_macro": MulticlassF1Score(n, average="macro")}
        )

    def train_step(self, model: nn.Module, batch: dict[str, Tensor]) -> StepOutput:
        logits = logits_of(model, batch)
        loss = F.cross_entropy(logits.float(), batch["labels"], label_smoothing=self.options.label_smoothing)
        return StepOutput(loss, batch["labels"].shape[0])

    def eval_step(self, model: nn.Module, batch: dict[str, Tensor], metrics: MetricCollection) -> StepOutput:
        logits = logits_of(model, batch).float()
        metrics.update(logits, batch["labels"])
        return StepOutput(F.cross_entropy(logits, batch["labels"]), batch["labels"].shape[0])

    @torch.no_grad()
    def predict(
        self, model: nn.Module, inputs: Sequence[str], info: dict[str, Any], device: torch.device
    ) -> list[dict[str, Any]]:
        max_length = min(self.options.max_length, info["max_length"])
        encoder = tokenization.TextEncoder.from_json(info["tokenizer"], max_length, info["pad_token_id"])
        collate = PadBatch(encoder.pad_token_id)
        model.eval()
        classes, results = info["classes"], []
        size = max(1, self.options.predict_batch_size)
        for start in range(0, len(inputs), size):
            texts = list(inputs[start : start + size])
            batch = collate([(torch.tensor(ids), 0) for ids in encoder.encode(texts)])
            batch = {k: v.to(device) for k, v in batch.items()}
            probs = logits_of(model, batch).float().softmax(dim=-1).cpu()
            for text, row in zip(texts, probs.tolist()):
                best = max(range(len(row)), key=row.__getitem__)
                results.append(
                    {"input": text, "label": classes[best], "probs": {c: round(p, 4) for c, p in zip(classes, row)}}
                )
        return results

    def predict_inputs(self, directory: Path, info: dict[str, Any]) -> list[str]:
        """Texts, as ``predict`` takes them: the lines of the samples file."""
        [path] = self.write_samples(directory, 2)
        return path.read_text(encoding="utf-8").splitlines()

    def write_samples(self, directory: Path, count: int) -> list[Path]:
        """``texts.txt``: texts of the validation split, one per line, a few of each class (``predict --file``);
        ``references.json`` lists their labels in line order."""
        from zoo import samples

        split = self.load_split("val")
        chosen = samples.pick(len(split.texts), count, split.labels.__getitem__)
        texts = [" ".join(split.texts[i].split()) for i in chosen]  # one line each
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "texts.txt"
        path.write_text("".join(f"{text}\n" for text in texts), encoding="utf-8")
        samples.write_references(directory, {path.name: [split.classes[split.labels[i]] for i in chosen]})
        return [path]

    def format_prediction(self, prediction: dict[str, Any]) -> str:
        ranked = sorted(prediction["probs"].items(), key=lambda item: -item[1])
        text = prediction["input"] if len(prediction["input"]) <= 100 else prediction["input"][:97] + "..."
        return f"{prediction['label']:<10} " + " ".join(f"{c} {p:.3f}" for c, p in ranked) + f"  {text!r}"

    def report(self, model: nn.Module, batches: Iterable[Any], info: dict[str, Any], directory: Path) -> list[Path]:
        """The confusion matrix of the evaluated split."""
        from zoo import plots

        predicted, target = [], []
        for batch in batches:
            predicted.append(logits_of(model, batch).argmax(dim=-1).cpu())
            target.append(batch["labels"].cpu())
        classes = info["classes"]
        matrix = plots.class_confusion(torch.cat(predicted), torch.cat(target), len(classes))
        return [plots.confusion_matrix(matrix, classes, directory / "confusion_matrix.png", "confusion matrix")]
