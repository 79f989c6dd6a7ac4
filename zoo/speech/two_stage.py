"""The two-stage path to a spoken intent: zoo's speech-to-text model, then a fastText text classifier on its words.

    python -m zoo.train --task speech --model asr_intent                                   # both stages, embedded
    python -m zoo.train --task speech --model asr_intent model.pretrained=runs/stt         # stage 1 from a run

Stage 1 is a CTC model of the transcription problem (``crnn_ctc`` by default, or the model of the
``transcription`` run ``model.pretrained`` names, with its weights and characters); stage 2 is a fastText
classifier (as :func:`zoo.nlp.models.fasttext`) over hashed words and word pairs, with the slots' logits side by side.
In training both learn at once: stage 1 by CTC on the utterances' transcripts, stage 2 on the reference transcripts;
in evaluation and prediction stage 2 reads what stage 1 heard (greedy decoding), so the scores are those of the
pipeline. Comparing it with ``intent_crnn`` shows what reading the slots from the audio directly buys.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from zoo import registry
from zoo.errors import ConfigError
from zoo.speech import text as text_ops
from zoo.speech.task import _ctc_loss

CHARACTERS = [text_ops.BLANK, " ", "'", *"abcdefghijklmnopqrstuvwxyz"]
TRANSCRIPTION_MODELS = ("crnn_ctc", "conformer_ctc", "wav2vec2_ctc")


def hash_words(texts: Sequence[str], buckets: int, device: torch.device) -> Tensor:
    """Word ids ``1 + crc32(word) mod (buckets - 1)`` (0 pads), so stage 2 needs no vocabulary of its own."""
    rows = [[1 + zlib.crc32(w.encode()) % (buckets - 1) for w in text_ops.normalise(t).split()] or [0] for t in texts]
    out = torch.zeros(len(rows), max(map(len, rows)), dtype=torch.int64)
    for i, row in enumerate(rows):
        out[i, : len(row)] = torch.tensor(row)
    return out.to(device)


class WordBag(nn.Module):
    """fastText (Joulin et al., 2017) over hashed ids: the mean embedding of the words and word pairs, then linear;
    the same model as ``zoo.nlp.models.fasttext``, kept here because no domain imports another."""

    def __init__(self, num_classes: int, buckets: int, embed_dim: int):
        super().__init__()
        self.buckets = buckets
        self.embedding = nn.EmbeddingBag(2 * buckets, embed_dim, mode="mean", padding_idx=0)
        self.head = nn.Linear(embed_dim, num_classes)
        nn.init.uniform_(self.embedding.weight, -1 / embed_dim, 1 / embed_dim)
        with torch.no_grad():
            self.embedding.weight[0].zero_()

    def forward(self, ids: Tensor, mask: Tensor) -> Tensor:
        pairs = (self.buckets + (ids[:, :-1] * 1_000_003 + ids[:, 1:]).remainder(self.buckets)).masked_fill(
            ~(mask[:, 1:] & mask[:, :-1]), 0)
        return self.head(self.embedding(torch.cat([ids.masked_fill(~mask, 0), pairs], dim=1)))


class ASRIntent(nn.Module):
    """Speech-to-text (``asr``), then a text classifier over its words (``classifier``)."""

    takes_batch = True  # training reads the batch's transcripts (CTC targets, stage 2's input)

    def __init__(self, asr: nn.Module, vocab: list[str], classifier: nn.Module, buckets: int, ctc_weight: float):
        super().__init__()
        self.asr, self.classifier = asr, classifier
        self.vocab = text_ops.Vocabulary(vocab)
        self.buckets, self.ctc_weight = buckets, ctc_weight

    def transcribe(self, waves: Tensor, lengths: Tensor | None = None) -> list[str]:
        logits, frames = self.asr(waves, lengths)
        return [self.vocab.decode(ids) for ids in text_ops.greedy_decode(logits, frames)]

    def classify(self, texts: Sequence[str], device: torch.device) -> Tensor:
        ids = hash_words(texts, self.buckets, device)
        return self.classifier(ids, ids != 0)

    def forward(self, waves: Tensor, lengths: Tensor | None = None,
                batch: dict[str, Any] | None = None) -> Tensor | tuple[Tensor, Tensor]:
        if not self.training or batch is None:
            return self.classify(self.transcribe(waves, lengths), waves.device)
        logits, frames = self.asr(waves, lengths)
        ids = [torch.tensor(self.vocab.encode(t), dtype=torch.int64) for t in batch["texts"]]
        targets = {"targets": nn.utils.rnn.pad_sequence(ids, batch_first=True).to(waves.device) if any(map(len, ids))
                   else torch.zeros(len(ids), 1, dtype=torch.int64, device=waves.device),
                   "target_lengths": torch.tensor([len(i) for i in ids], device=waves.device)}
        ctc = _ctc_loss(logits, frames, targets)
        return self.classify(batch["texts"], waves.device), self.ctc_weight * ctc


def asr_intent(
    slot_sizes: Sequence[int],
    features: dict[str, Any] | None = None,
    pretrained: str = "",
    asr_model: str = "crnn_ctc",
    asr_args: dict[str, Any] | None = None,
    asr_vocab: Sequence[str] | None = None,
    embed_dim: int = 64,
    buckets: int = 4096,
    ctc_weight: float = 1.0,
) -> nn.Module:
    """Two stages: ``asr_model`` (``crnn_ctc``, ``conformer_ctc`` or ``wav2vec2_ctc``) built with ``asr_args`` over
    the characters ``asr_vocab`` (default: a-z, space, apostrophe), or taken with its weights from the transcription
    run ``pretrained``; then fastText over ``buckets`` hashed words and word pairs."""
    state = None
    if pretrained:
        asr_model, asr_args, asr_vocab, state = _transcription_run(pretrained)
    if asr_model not in TRANSCRIPTION_MODELS:
        raise ConfigError(f"model.args.asr_model must be a speech-to-text model ({', '.join(TRANSCRIPTION_MODELS)}), "
                          f"got {asr_model!r}")
    vocab = list(asr_vocab or CHARACTERS)
    args = dict(asr_args or {})
    entry = registry.get_model_entry("speech", asr_model)
    builder = registry.load_object(entry.builder)
    defaults = {"vocab_size": len(vocab), **({"features": features} if asr_model != "wav2vec2_ctc" else {})}
    asr = builder(**{**defaults, **args})
    if state is not None:
        asr.load_state_dict(state)
    classifier = WordBag(sum(slot_sizes), buckets, embed_dim)
    model = ASRIntent(asr, vocab, classifier, buckets, ctc_weight)
    model.architecture = {"asr_model": asr_model, "asr_args": args, "asr_vocab": vocab}
    return model


def _transcription_run(pretrained: str) -> tuple[str, dict[str, Any], list[str], dict[str, Tensor]]:
    """Model name, builder arguments, characters and weights of a zoo transcription run or checkpoint."""
    from zoo import checkpoint as ckpt

    path = Path(pretrained).expanduser()
    if not path.exists():
        raise ConfigError(f"model.pretrained={pretrained} of asr_intent must be a zoo speech-to-text run or checkpoint "
                          "directory (python -m zoo.train --task speech --model crnn_ctc)")
    found = ckpt.resolve(path)
    meta = ckpt.read_meta(found)
    name = meta["config"]["model"]["name"]
    if name not in TRANSCRIPTION_MODELS:
        raise ConfigError(f"model.pretrained={pretrained} is a {name} run, not speech-to-text "
                          f"({', '.join(TRANSCRIPTION_MODELS)})")
    args = dict(meta["config"]["model"]["args"])
    args["features"] = meta["info"]["features"] if name != "wav2vec2_ctc" else None
    if args["features"] is None:
        args.pop("features")
    state = ckpt.read_weights(found, meta.get("inference_weights", "model"))
    return name, args, list(meta["info"]["vocab"]), state
