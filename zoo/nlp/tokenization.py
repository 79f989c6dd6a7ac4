"""Tokenizers: trained from scratch on the training texts, or a pretrained checkpoint's own, used the same way.

Both end up as a ``tokenizers.Tokenizer`` whose JSON goes into the checkpoint's ``info``, so ``evaluate`` and
``predict`` rebuild it from the checkpoint alone, with no file or network access. Trained tokenizers use the
special tokens of BERT (``[PAD]`` is id 0) and wrap every text as ``[CLS] text [SEP]``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoo.errors import CheckpointError, ConfigError

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
KINDS = ("wordpiece", "bpe")
# A tokenizer's model_max_length above this means "no limit" (transformers uses int(1e30) for that).
_NO_LIMIT = 1_000_000


@dataclass
class TextEncoder:
    """Texts to token ids: truncated to ``max_length`` tokens, special tokens included, never padded."""

    tokenizer: Any  # tokenizers.Tokenizer
    max_length: int
    pad_token_id: int

    def __post_init__(self) -> None:
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(self.max_length)

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        return [encoding.ids for encoding in self.tokenizer.encode_batch(list(texts))]

    def to_json(self) -> dict[str, Any]:
        """The tokenizer as a JSON object, for a checkpoint's ``info``."""
        return json.loads(self.tokenizer.to_str())

    @classmethod
    def from_json(cls, data: dict[str, Any], max_length: int, pad_token_id: int) -> TextEncoder:
        from tokenizers import Tokenizer

        return cls(Tokenizer.from_str(json.dumps(data)), max_length, pad_token_id)


def train_tokenizer(
    texts: Sequence[str], vocab_size: int, kind: str = "wordpiece", lowercase: bool = True, min_frequency: int = 2
) -> Any:
    """A WordPiece (BERT-style) or byte-level BPE tokenizer fitted to ``texts``; cached for identical inputs."""
    from tokenizers import Tokenizer

    if kind not in KINDS:
        raise ConfigError(f"unknown tokenizer {kind!r}; choose one of {', '.join(KINDS)}")
    if vocab_size <= len(SPECIAL_TOKENS):
        raise ConfigError(f"task_args.vocab_size must exceed {len(SPECIAL_TOKENS)} special tokens, got {vocab_size}")
    key = (hashlib.sha1("\x00".join(texts).encode()).hexdigest(), vocab_size, kind, lowercase, min_frequency)
    if key not in _TRAINED:
        if len(_TRAINED) >= 8:
            _TRAINED.pop(next(iter(_TRAINED)))
        _TRAINED[key] = _train(texts, vocab_size, kind, lowercase, min_frequency)
    tokenizer = Tokenizer.from_str(_TRAINED[key])
    if tokenizer.get_vocab_size() > vocab_size:
        raise ConfigError(
            f"task_args.vocab_size={vocab_size} is below the {tokenizer.get_vocab_size()} tokens a {kind} tokenizer "
            "needs for the special tokens and the alphabet of these texts; raise task_args.vocab_size"
        )
    return tokenizer


# Trained tokenizers (JSON) by a digest of the texts and the settings: building a task twice trains once.
_TRAINED: dict[tuple[str, int, str, bool, int], str] = {}


def _train(texts: Sequence[str], vocab_size: int, kind: str, lowercase: bool, min_frequency: int) -> str:
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    if kind == "wordpiece":
        normalizer = normalizers.BertNormalizer(lowercase=lowercase)
        tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
        tokenizer.normalizer = normalizer
        tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        # tokenizers (to 0.23 at least, issue #1794) numbers the "##x" pieces in hash-map order, so merges tied
        # on count differ from run to run. Declaring every "##x" up front fixes their ids and so the vocabulary.
        alphabet = sorted({c for text in texts for c in normalizer.normalize_str(text) if not c.isspace()})
        trainer = trainers.WordPieceTrainer(
            vocab_size=vocab_size, min_frequency=min_frequency, initial_alphabet=alphabet,
            special_tokens=[*SPECIAL_TOKENS, *(f"##{c}" for c in alphabet)],
        )
        tokenizer.train_from_iterator(texts, trainer=trainer, length=len(texts))
        # Rebuilt from the vocabulary, so that only the real special tokens are special.
        tokenizer = Tokenizer(models.WordPiece(tokenizer.get_vocab(), unk_token="[UNK]"))
        tokenizer.normalizer = normalizer
        tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tokenizer.decoder = decoders.WordPiece()
        tokenizer.add_special_tokens(list(SPECIAL_TOKENS))
    else:
        tokenizer = Tokenizer(models.BPE())
        steps = [normalizers.NFKC()] + ([normalizers.Lowercase()] if lowercase else [])
        tokenizer.normalizer = normalizers.Sequence(steps)
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
        tokenizer.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=list(SPECIAL_TOKENS),
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        )
        tokenizer.train_from_iterator(texts, trainer=trainer, length=len(texts))
    cls_id, sep_id = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    return tokenizer.to_str()


def trained_encoder(
    texts: Sequence[str], vocab_size: int, max_length: int, kind: str, lowercase: bool, min_frequency: int
) -> TextEncoder:
    tokenizer = train_tokenizer(texts, vocab_size, kind, lowercase, min_frequency)
    return TextEncoder(tokenizer, max_length, tokenizer.token_to_id("[PAD]"))


def is_local(checkpoint: str) -> bool:
    """A directory on disk is read with no hub call at all; anything else is a hub id."""
    return Path(checkpoint).expanduser().is_dir()


def pretrained_encoder(checkpoint: str, max_length: int, model_limit: int | None = None) -> TextEncoder:
    """The checkpoint's own (fast) tokenizer (a directory or hub id), truncating to the least of ``max_length`` and
    the model's limits."""
    from transformers import AutoTokenizer

    local = is_local(checkpoint)
    path = str(Path(checkpoint).expanduser()) if local else checkpoint
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=local, use_fast=True)
    except (OSError, ValueError) as error:
        raise CheckpointError(unreadable_message(checkpoint, "tokenizer", error)) from error
    if not getattr(tokenizer, "is_fast", False):
        raise CheckpointError(
            f"{checkpoint} has no fast tokenizer (tokenizer.json), which zoo needs to store it with its checkpoints; "
            "convert it with transformers (AutoTokenizer.from_pretrained(..., use_fast=True).save_pretrained(DIR), "
            "which may need `pip install sentencepiece protobuf`) and pass DIR as model.pretrained"
        )
    limits = [max_length]
    if tokenizer.model_max_length and tokenizer.model_max_length < _NO_LIMIT:
        limits.append(int(tokenizer.model_max_length))
    if model_limit:
        limits.append(model_limit)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    if pad is None:
        raise CheckpointError(f"the tokenizer of {checkpoint} has neither a padding nor an end-of-text token")
    from tokenizers import Tokenizer

    backend = Tokenizer.from_str(tokenizer.backend_tokenizer.to_str())  # a copy: padding and truncation are ours
    return TextEncoder(backend, min(limits), int(pad))


def unreadable_message(checkpoint: str, what: str, error: Exception) -> str:
    if is_local(checkpoint):
        return f"cannot read the {what} in {checkpoint}: {error}"
    return (
        f"cannot load the {what} of {checkpoint!r}: {error}. It is neither a local directory nor in the Hugging "
        "Face cache; with no network, download it where there is one (huggingface-cli download "
        f"{checkpoint} --local-dir DIR), copy DIR here and pass model.pretrained=DIR"
    )
