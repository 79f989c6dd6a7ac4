"""Translation on the shared trainer: an encoder-decoder trained with cross-entropy, scored with sacreBLEU.

    python -m zoo.train --task nlp --problem translation                    # Marian-tiny on the embedded pair, CPU
    python -m zoo.train --task nlp --problem translation --model marian_base --dataset moses \
        data.args.root=corpus data.args.source_lang=de data.args.target_lang=en trainer.device=cuda
    python -m zoo predict --checkpoint runs/nlp/RUN "The old farmer found the red keys."

Models from config use a joint unigram (or BPE) tokenizer trained here on both sides of the training pairs; a
pretrained model (``seq2seq_lm``, ``model.pretrained=...``) brings its own. Validation generates translations with
transformers' ``generate`` (``task_args.num_beams``) and scores the detokenised text against the references with
sacreBLEU's corpus BLEU and chrF (their signatures are saved in the checkpoint's info), beside a word-for-word
baseline on the same split (:mod:`zoo.nlp.word_for_word`): ``val/bleu``, ``val/chrf``, ``val/baseline_bleu``,
``val/baseline_chrf``.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import Dataset
from torchmetrics import Metric, MetricCollection

from zoo import registry
from zoo.errors import ConfigError
from zoo.nlp import seq2seq
from zoo.nlp.parallel import ParallelSplit
from zoo.nlp.translation_text import SourceTooLong, TranslationEncoder, pretrained_encoder, trained_encoder
from zoo.task import StepOutput, Task, TaskData, evaluated_split


@dataclass
class TranslationOptions:
    max_length: int = 64  # tokens per sentence, end token included: the model's context; longer ones are an error
    skip_long: bool = False  # leave pairs longer than max_length out of the data (counted in a warning) instead
    tokenizer: Literal["unigram", "bpe"] = "bpe"  # joint, trained on both sides; a pretrained model brings its own
    vocab_size: int = 4000  # at most this many pieces (special tokens included)
    label_smoothing: float = 0.1
    num_beams: int = 4  # beam width of validation and predict; 1 is greedy decoding
    max_new_tokens: int = 0  # generated tokens per sentence at most; 0: max_length
    baseline: bool = True  # also score the word-for-word baseline (val/baseline_bleu, val/baseline_chrf)
    bucket_by_length: bool = True  # batch sentences of similar length: less padding
    predict_batch_size: int = 64


@dataclass
class TranslatePredictOptions:
    num_beams: int = 0  # 0: the recipe's task_args.num_beams
    max_new_tokens: int = 0  # 0: the recipe's


class SacreMetric(Metric):
    """sacreBLEU corpus BLEU or chrF, accumulated as its sufficient statistics (summed across ranks), so the
    score over all batches equals ``sacrebleu.corpus_bleu`` / ``corpus_chrf`` of all sentences at once."""

    full_state_update = False

    def __init__(self, kind: Literal["bleu", "chrf"]):
        super().__init__()
        self.kind = kind
        size = len(self.scorer()._extract_corpus_statistics(["a"], [["a"]])[0])
        self.add_state("stats", torch.zeros(size, dtype=torch.int64), dist_reduce_fx="sum")

    def scorer(self) -> Any:
        from sacrebleu.metrics import BLEU, CHRF

        return BLEU() if self.kind == "bleu" else CHRF()

    def update(self, hypotheses: Sequence[str], references: Sequence[str]) -> None:
        stats = self.scorer()._extract_corpus_statistics(list(hypotheses), [list(references)])
        if stats:
            self.stats += torch.as_tensor(np.asarray(stats, dtype=np.int64).sum(axis=0), device=self.stats.device)

    def compute(self) -> Tensor:
        return torch.tensor(self.scorer()._compute_score_from_stats(self.stats.tolist()).score, dtype=torch.float64)


def signatures() -> dict[str, str]:
    """The sacreBLEU signature of each score (tokeniser, smoothing, version), as papers report them."""
    from sacrebleu.metrics import BLEU, CHRF

    found = {}
    for name, scorer in (("bleu", BLEU()), ("chrf", CHRF())):
        scorer.corpus_score(["a"], [["a"]])  # sets the number of references (one), which the signature states
        found[name] = scorer.get_signature().format()
    return found


class TokenizedPairs(Dataset):
    """Source and target ids of each pair; val items also carry the reference and the baseline's output."""

    def __init__(self, sources: list[list[int]], targets: list[list[int]], references: list[str] | None = None,
                 baseline: list[str] | None = None):
        self.sources = [np.asarray(x, dtype=np.int32) for x in sources]
        self.targets = [np.asarray(x, dtype=np.int32) for x in targets]
        self.references, self.baseline = references, baseline

    def __len__(self) -> int:
        return len(self.sources)

    def lengths(self) -> list[int]:
        return [max(len(s), len(t)) for s, t in zip(self.sources, self.targets)]

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor, str, str]:
        return (torch.from_numpy(self.sources[index].astype(np.int64)),
                torch.from_numpy(self.targets[index].astype(np.int64)),
                self.references[index] if self.references is not None else "",
                self.baseline[index] if self.baseline is not None else "")


class PadPairs:
    """Collate pairs into ``input_ids``, ``attention_mask`` and ``labels`` (padding is -100, ignored by the loss),
    with the references and baseline outputs as lists of strings (picklable)."""

    def __init__(self, pad_token_id: int):
        self.pad_token_id = pad_token_id

    def __call__(self, items: list[tuple[Tensor, Tensor, str, str]]) -> dict[str, Any]:
        sources = [item[0] for item in items]
        input_ids = nn.utils.rnn.pad_sequence(sources, batch_first=True, padding_value=self.pad_token_id)
        lengths = torch.tensor([len(x) for x in sources])
        return {
            "input_ids": input_ids,
            "attention_mask": (torch.arange(input_ids.shape[1])[None, :] < lengths[:, None]).long(),
            "labels": nn.utils.rnn.pad_sequence([item[1] for item in items], batch_first=True, padding_value=-100),
            "references": [item[2] for item in items],
            "baseline": [item[3] for item in items],
        }


def _takes(builder: str, name: str) -> bool:
    return name in inspect.signature(registry.load_object(builder)).parameters


class Translation(Task):
    monitor = "bleu"
    monitor_mode = "max"
    Options = TranslationOptions
    PredictOptions = TranslatePredictOptions

    # -- data ---------------------------------------------------------------------------------------------------
    def build_data(self, splits: Sequence[str]) -> TaskData:
        loaded: dict[str, ParallelSplit] = {split: self.load_split(split) for split in splits}
        encoder, info = self._encoder(loaded)
        self._info = info
        encoded = {split: self._encode(encoder, split, data, info) for split, data in loaded.items()}
        lengths = {s: d.lengths() for s, d in encoded.items()} if self.options.bucket_by_length else {}
        return TaskData(
            train=encoded.get("train"), val=evaluated_split(encoded), info=info, collate=PadPairs(encoder.pad_token_id),
            train_lengths=lengths.get("train"), val_lengths=evaluated_split(lengths),
        )

    def _encode(self, encoder: TranslationEncoder, split: str, data: ParallelSplit, info: dict[str, Any]) -> Dataset:
        sources, targets = encoder.encode_sources(data.sources), encoder.encode_targets(data.targets)
        limit = encoder.max_length
        long = [i for i, (s, t) in enumerate(zip(sources, targets)) if len(s) > limit or len(t) > limit]
        if long and not self.options.skip_long:
            i = long[0]
            raise ConfigError(
                f"{len(long)} pairs of the {split} split of {self.config.data.dataset!r} are longer than the model's "
                f"context of {limit} tokens (pair {i}: {len(sources[i])} source, {len(targets[i])} target tokens); "
                "raise task_args.max_length or set task_args.skip_long=true to leave them out"
            )
        keep = [i for i in range(len(sources)) if i not in set(long)]
        if long:
            warnings.warn(f"left out {len(long)} of {len(sources)} {split} pairs longer than {limit} tokens "
                          "(task_args.skip_long)", stacklevel=2)
        if split == "train":
            return TokenizedPairs([sources[i] for i in keep], [targets[i] for i in keep])
        references = [data.targets[i] for i in keep]
        baseline = None
        if self.options.baseline and "baseline" in info:
            from zoo.nlp.word_for_word import WordForWord

            dictionary = WordForWord.from_dictionary(info["baseline"]["dictionary"], info["baseline"]["known"])
            baseline = [dictionary.translate(data.sources[i]) for i in keep]
        return TokenizedPairs([sources[i] for i in keep], [targets[i] for i in keep], references, baseline)

    def _encoder(self, loaded: dict[str, ParallelSplit]) -> tuple[TranslationEncoder, dict[str, Any]]:
        """The checkpoint's saved tokenizer, a pretrained model's own, or a joint one trained on the train pairs."""
        o = self.options
        first = next(iter(loaded.values()))
        if self.saved_info is not None:
            saved = self.saved_info
            if (saved["source_lang"], saved["target_lang"]) != (first.source_lang, first.target_lang):
                raise ConfigError(
                    f"the checkpoint translates {saved['source_lang']} into {saved['target_lang']}, but dataset "
                    f"{self.config.data.dataset!r} holds {first.source_lang} into {first.target_lang}"
                )
            return TranslationEncoder.from_info(saved, o.max_length), saved
        entry = self.entry.model(self.config.model.name)
        pretrained = self.config.model.pretrained
        if pretrained and not _takes(entry.builder, "pretrained"):
            raise ConfigError(f"model {entry.name!r} is built from config with a tokenizer trained here, which other "
                              f"weights do not share, so it reads no model.pretrained; use model seq2seq_lm to "
                              f"fine-tune {pretrained} with its own tokenizer (or --resume a zoo run)")
        train = loaded["train"] if "train" in loaded else self.load_split("train")
        info: dict[str, Any] = {"source_lang": first.source_lang, "target_lang": first.target_lang,
                                "signatures": signatures()}
        if pretrained:
            from zoo.pretrained import local_path

            where = local_path(self.config.task, entry.name, pretrained)  # a catalog name: its fetched snapshot
            hf_config = seq2seq.pretrained_config(where)
            encoder = pretrained_encoder(where, o.max_length, hf_config)
            info.update(hf_config=hf_config, tokenizer_source=f"pretrained: {pretrained}")
        else:
            encoder = trained_encoder(train.sources + train.targets, o.vocab_size, o.max_length, o.tokenizer)
            info["tokenizer_source"] = f"joint {o.tokenizer} trained on {self.config.data.dataset} (train split)"
        info.update(encoder.to_info())
        if o.baseline:
            from zoo.nlp.word_for_word import WordForWord

            dictionary = WordForWord(train.sources, train.targets)
            info["baseline"] = {"dictionary": dictionary.dictionary, "known": sorted(dictionary.source_vocab),
                                "method": "IBM Model 1 dictionary from the train pairs, source word order"}
        return encoder, info

    # -- model --------------------------------------------------------------------------------------------------
    def model_defaults(self, info: dict[str, Any]) -> dict[str, Any]:
        defaults: dict[str, Any] = {key: info[key] for key in ("vocab_size", "max_length", "pad_token_id",
                                                                "eos_token_id")}
        if "hf_config" in info and self.saved_info is not None:
            defaults["hf_config"] = info["hf_config"]  # the architecture; zoo's checkpoint holds the weights
        return defaults

    def build_metrics(self, info: dict[str, Any]) -> MetricCollection:
        names = ["bleu", "chrf"] + (["baseline_bleu", "baseline_chrf"] if "baseline" in info else [])
        return MetricCollection({name: SacreMetric(name.removeprefix("baseline_")) for name in names},
                                compute_groups=False)

    # -- steps --------------------------------------------------------------------------------------------------
    def _loss(self, model: nn.Module, batch: dict[str, Any], smoothing: float) -> Tensor:
        out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=batch["labels"])
        logits = out.logits.float()
        return F.cross_entropy(logits.flatten(0, 1), batch["labels"].flatten(), ignore_index=-100,
                               label_smoothing=smoothing)

    def train_step(self, model: nn.Module, batch: dict[str, Any]) -> StepOutput:
        loss = self._loss(model, batch, self.options.label_smoothing)
        return StepOutput(loss, batch["input_ids"].shape[0])

    def eval_step(self, model: nn.Module, batch: dict[str, Any], metrics: MetricCollection) -> StepOutput:
        loss = self._loss(model, batch, 0.0)
        hypotheses = self._translate_batch(model, batch["input_ids"], batch["attention_mask"],
                                           self.options.num_beams, self.options.max_new_tokens)
        metrics["bleu"].update(hypotheses, batch["references"])
        metrics["chrf"].update(hypotheses, batch["references"])
        if "baseline_bleu" in metrics:
            metrics["baseline_bleu"].update(batch["baseline"], batch["references"])
            metrics["baseline_chrf"].update(batch["baseline"], batch["references"])
        return StepOutput(loss, batch["input_ids"].shape[0])

    def _translate_batch(self, model: nn.Module, input_ids: Tensor, attention_mask: Tensor, num_beams: int,
                         max_new_tokens: int) -> list[str]:
        encoder = self._decoder()
        ids = seq2seq.generate(model, input_ids, attention_mask, max(1, num_beams),
                               max_new_tokens or encoder.max_length)
        return encoder.decode(ids.tolist())

    def _decoder(self) -> TranslationEncoder:
        info = self.saved_info if self.saved_info is not None else getattr(self, "_info", None)
        if getattr(self, "_cached", None) is None or self._cached[0] is not info:
            if info is None:
                raise RuntimeError("build_data or a checkpoint's info comes before decoding")
            self._cached = (info, TranslationEncoder.from_info(info, self.options.max_length))
        return self._cached[1]

    # -- prediction ---------------------------------------------------------------------------------------------
    @torch.no_grad()
    def predict(self, model: nn.Module, inputs: Sequence[str], info: dict[str, Any], device: torch.device,
                options: TranslatePredictOptions | None = None) -> list[dict[str, Any]]:
        options = options or TranslatePredictOptions()
        if not inputs:
            raise ConfigError("predict needs at least one sentence to translate (INPUT ... or --file FILE)")
        for i, text in enumerate(inputs):
            if not text.strip():
                raise ConfigError(f"input {i + 1} is an empty sentence: give text to translate")
        self._info = info
        encoder = self._decoder()
        try:
            ids = encoder.encode_sources(list(inputs), strict=True)
        except SourceTooLong as error:
            raise ConfigError(f"input {error.index + 1} has {error.length} tokens, more than the model's context of "
                              f"{encoder.max_length}; split it into shorter sentences") from None
        model.eval()
        collate, results = PadPairs(encoder.pad_token_id), []
        size = max(1, self.options.predict_batch_size)
        for start in range(0, len(ids), size):
            chunk = ids[start : start + size]
            batch = collate([(torch.tensor(x), torch.tensor(x), "", "") for x in chunk])
            outputs = self._translate_batch(model, batch["input_ids"].to(device), batch["attention_mask"].to(device),
                                            options.num_beams or self.options.num_beams,
                                            options.max_new_tokens or self.options.max_new_tokens)
            results += [{"input": text, "translation": out} for text, out in zip(inputs[start : start + size], outputs)]
        return results

    def format_prediction(self, prediction: dict[str, Any]) -> str:
        return prediction["translation"]

    def predict_inputs(self, directory: Path, info: dict[str, Any]) -> list[str]:
        """Two source sentences of the validation split: predict reads sentences, not files."""
        return self.load_split("val").sources[:2]

    def write_samples(self, directory: Path, count: int) -> list[Path]:
        """``sources.txt``: source sentences of the validation split, one per line (``predict --file``);
        ``references.json`` holds their reference translations in line order."""
        from zoo import samples

        split = self.load_split("val")
        chosen = samples.pick(len(split.sources), count)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "sources.txt"
        path.write_text("".join(" ".join(split.sources[i].split()) + "\n" for i in chosen), encoding="utf-8")
        samples.write_references(directory, {path.name: [split.targets[i] for i in chosen]})
        return [path]

    # -- figures ------------------------------------------------------------------------------------------------
    def report(self, model: nn.Module, batches: Iterable[Any], info: dict[str, Any], directory: Path) -> list[Path]:
        """``translations.md``: the scores with their signatures, then a table of sources, the model's output,
        the word-for-word baseline and the reference, the worst sentences by chrF first."""
        import sacrebleu

        self._info = info
        encoder, rows = self._decoder(), []
        hypotheses, references, baselines = [], [], []
        for batch in batches:
            outputs = self._translate_batch(model, batch["input_ids"], batch["attention_mask"],
                                            self.options.num_beams, self.options.max_new_tokens)
            sources = encoder.decode_sources(batch["input_ids"].tolist())
            for source, out, ref, base in zip(sources, outputs, batch["references"], batch["baseline"]):
                rows.append((sacrebleu.sentence_chrf(out, [ref]).score, source, out, base, ref))
            hypotheses += outputs
            references += batch["references"]
            baselines += batch["baseline"]
        bleu, chrf = sacrebleu.corpus_bleu(hypotheses, [references]), sacrebleu.corpus_chrf(hypotheses, [references])
        lines = [f"# {info['source_lang']} -> {info['target_lang']}: {len(rows)} sentences", "",
                 f"- model: BLEU {bleu.score:.2f}, chrF {chrf.score:.2f}"]
        if any(baselines):
            lines.append(f"- word-for-word baseline: BLEU {sacrebleu.corpus_bleu(baselines, [references]).score:.2f}"
                         f", chrF {sacrebleu.corpus_chrf(baselines, [references]).score:.2f}")
        lines += [f"- BLEU signature: {info['signatures']['bleu']}", f"- chrF signature: {info['signatures']['chrf']}",
                  "", "| chrF | source | output | word for word | reference |", "|---:|---|---|---|---|"]

        def cell(text: str) -> str:
            return " ".join(text.split()).replace("|", "\\|")

        rows.sort(key=lambda row: row[0])
        lines += [f"| {score:.1f} | {' | '.join(cell(x) for x in rest)} |" for score, *rest in rows[:100]]
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "translations.md"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return [path]
