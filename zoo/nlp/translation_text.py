"""Sentences to ids and back for translation: a joint tokenizer trained on both languages, or a pretrained
model's own.

A trained tokenizer is a ``tokenizers`` unigram (SentencePiece's model) or BPE over Metaspace pieces, so decoding
gives back detokenised text (spaces where the input had them), which is what sacreBLEU scores. Its JSON goes into
the checkpoint's info. Special tokens: ``<pad>`` 0 (also the decoder's start, as in Marian), ``</s>`` 1, ``<unk>`` 2;
every sentence ends with ``</s>``. A pretrained checkpoint's tokenizer (SentencePiece for opus-mt, which has no
``tokenizer.json``) is read again from the checkpoint named in the info.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from zoo.errors import CheckpointError, ConfigError

SPECIAL_TOKENS = ("<pad>", "</s>", "<unk>")
KINDS = ("unigram", "bpe")


class SourceTooLong(ValueError):
    def __init__(self, index: int, length: int):
        super().__init__(f"sentence {index} has {length} tokens")
        self.index, self.length = index, length


class TranslationEncoder:
    """``encode_*`` gives ids ending with the end token, never truncated; ``decode`` drops special tokens."""

    def __init__(self, max_length: int, pad_token_id: int, eos_token_id: int, vocab_size: int,
                 tokenizer: Any = None, pretrained: Any = None, source: str = ""):
        self.max_length, self.pad_token_id, self.eos_token_id = max_length, pad_token_id, eos_token_id
        self.vocab_size, self.tokenizer, self.pretrained, self.source = vocab_size, tokenizer, pretrained, source
        if tokenizer is not None:
            tokenizer.no_padding()
            tokenizer.no_truncation()

    def encode_sources(self, texts: Sequence[str], strict: bool = False) -> list[list[int]]:
        ids = self._encode(texts, target=False)
        if strict:
            for i, x in enumerate(ids):
                if len(x) > self.max_length:
                    raise SourceTooLong(i, len(x))
        return ids

    def encode_targets(self, texts: Sequence[str]) -> list[list[int]]:
        return self._encode(texts, target=True)

    def _encode(self, texts: Sequence[str], target: bool) -> list[list[int]]:
        if self.tokenizer is not None:
            return [e.ids for e in self.tokenizer.encode_batch(list(texts))]
        if target:
            return list(self.pretrained(text_target=list(texts), truncation=False)["input_ids"])
        return list(self.pretrained(list(texts), truncation=False)["input_ids"])

    def decode(self, ids: Sequence[Sequence[int]]) -> list[str]:
        """Generated ids (the decoder start first) as text; everything after the first end token is dropped."""
        cut = []
        for row in ids:
            row = list(row)
            if self.eos_token_id in row[1:]:
                row = row[: row.index(self.eos_token_id, 1)]
            cut.append([t for t in row if t != self.pad_token_id])
        if self.tokenizer is not None:
            return [text.strip() for text in self.tokenizer.decode_batch(cut, skip_special_tokens=True)]
        return [text.strip() for text in self.pretrained.batch_decode(cut, skip_special_tokens=True)]

    def decode_sources(self, ids: Sequence[Sequence[int]]) -> list[str]:
        rows = [[t for t in row if t not in (self.pad_token_id, self.eos_token_id)] for row in ids]
        if self.tokenizer is not None:
            return [text.strip() for text in self.tokenizer.decode_batch(rows, skip_special_tokens=True)]
        return [text.strip() for text in self.pretrained.batch_decode(rows, skip_special_tokens=True)]

    def to_info(self) -> dict[str, Any]:
        info = {"vocab_size": self.vocab_size, "max_length": self.max_length, "pad_token_id": self.pad_token_id,
                "eos_token_id": self.eos_token_id}
        if self.tokenizer is not None:
            info["tokenizer"] = json.loads(self.tokenizer.to_str())
        else:
            info["pretrained_tokenizer"] = self.source
        return info

    @classmethod
    def from_info(cls, info: dict[str, Any], max_length: int) -> TranslationEncoder:
        limit = min(max_length, info["max_length"])
        if "tokenizer" in info:
            from tokenizers import Tokenizer

            return cls(limit, info["pad_token_id"], info["eos_token_id"], info["vocab_size"],
                       tokenizer=Tokenizer.from_str(json.dumps(info["tokenizer"])))
        return pretrained_encoder(info["pretrained_tokenizer"], limit, {"vocab_size": info["vocab_size"]})


def train_tokenizer(texts: Sequence[str], vocab_size: int, kind: str = "unigram") -> Any:
    """A joint unigram or BPE tokenizer over ``texts`` (both languages); cached for identical inputs."""
    from tokenizers import Tokenizer

    if kind not in KINDS:
        raise ConfigError(f"unknown tokenizer {kind!r}; choose one of {', '.join(KINDS)}")
    if vocab_size <= len(SPECIAL_TOKENS) + 10:
        raise ConfigError(f"task_args.vocab_size must be well above the {len(SPECIAL_TOKENS)} special tokens, "
                          f"got {vocab_size}")
    key = (hashlib.sha1("\x00".join(texts).encode()).hexdigest(), vocab_size, kind)
    if key not in _TRAINED:
        if len(_TRAINED) >= 4:
            _TRAINED.pop(next(iter(_TRAINED)))
        _TRAINED[key] = _train(texts, vocab_size, kind)
    return Tokenizer.from_str(_TRAINED[key])


_TRAINED: dict[tuple[str, int, str], str] = {}


def _train(texts: Sequence[str], vocab_size: int, kind: str) -> str:
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    if kind == "unigram":
        tokenizer = Tokenizer(models.Unigram())
        trainer = trainers.UnigramTrainer(vocab_size=vocab_size, special_tokens=list(SPECIAL_TOKENS),
                                          unk_token="<unk>", show_progress=False)
    else:
        tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, special_tokens=list(SPECIAL_TOKENS),
                                      show_progress=False)
    tokenizer.normalizer = normalizers.NFKC()
    # Words at spaces (Metaspace, as SentencePiece) and punctuation on its own: "village." is "village" and ".".
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Metaspace(), pre_tokenizers.Punctuation()])
    tokenizer.decoder = decoders.Metaspace()
    tokenizer.train_from_iterator(list(texts), trainer=trainer, length=len(texts))
    for token, expected in zip(SPECIAL_TOKENS, range(len(SPECIAL_TOKENS))):
        if tokenizer.token_to_id(token) != expected:
            raise RuntimeError(f"the trained tokenizer numbers {token} {tokenizer.token_to_id(token)}, not {expected}")
    tokenizer.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    return tokenizer.to_str()


def trained_encoder(texts: Sequence[str], vocab_size: int, max_length: int, kind: str) -> TranslationEncoder:
    tokenizer = train_tokenizer(texts, vocab_size, kind)
    return TranslationEncoder(max_length, 0, 1, tokenizer.get_vocab_size(), tokenizer=tokenizer)


def pretrained_encoder(pretrained: str, max_length: int, hf_config: dict[str, Any]) -> TranslationEncoder:
    """The tokenizer of a pretrained checkpoint, a directory or hub id (``AutoTokenizer``; opus-mt needs
    ``pip install sentencepiece``)."""
    from pathlib import Path

    from transformers import AutoTokenizer

    from zoo.nlp.seq2seq import is_local
    from zoo.nlp.tokenization import unreadable_message

    path = pretrained
    local = is_local(path)
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(Path(path).expanduser()) if local else path,
                                                  local_files_only=local)
    except (OSError, ValueError, ImportError) as error:
        raise CheckpointError(unreadable_message(path, "tokenizer", error)) from error
    limits = [max_length, int(hf_config.get("max_position_embeddings") or max_length)]
    if tokenizer.model_max_length and tokenizer.model_max_length < 1_000_000:
        limits.append(int(tokenizer.model_max_length))
    if tokenizer.pad_token_id is None or tokenizer.eos_token_id is None:
        raise CheckpointError(f"the tokenizer of {pretrained} lacks a padding or an end token")
    vocab = int(hf_config.get("vocab_size") or len(tokenizer))
    return TranslationEncoder(min(limits), tokenizer.pad_token_id, tokenizer.eos_token_id, vocab,
                              pretrained=tokenizer, source=pretrained)
