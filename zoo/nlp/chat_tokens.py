"""Conversations to token ids through a chat template, with the labels of supervised fine-tuning.

A from-scratch model gets a byte-level BPE tokenizer trained on the rendered training conversations (digits split
one by one, so that numbers are read and written digit by digit) and the ChatML template below; a pretrained model
keeps its own tokenizer and template, or gets ChatML (and its two tokens) when its tokenizer has none. Either way
the tokenizer is stored in the checkpoint's ``info`` (:func:`to_info`), so a checkpoint needs no other file.

Which tokens are the assistant's is read from the template itself: for each assistant message the conversation
before it is rendered with the generation prompt, then with the message; the characters in between (the answer and
its end-of-turn token) are the assistant's, and so is every token whose characters overlap them. That holds for
any template that renders a conversation's start the same whatever follows (ChatML, Llama, Mistral, Gemma all do);
one that does not is an error, with ``task_args.loss_on=all`` as the way out.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from zoo.errors import ConfigError

Message = dict[str, str]
IGNORE = -100  # label of a token that is not learned (cross_entropy's ignore_index)
IM_START, IM_END, PAD = "<|im_start|>", "<|im_end|>", "<|pad|>"
CHATML = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' "
    "+ '\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
_SPECIAL_KEYS = ("bos_token", "eos_token", "pad_token", "unk_token")


def train_tokenizer(texts: Sequence[str], vocab_size: int, min_frequency: int = 2) -> Any:
    """A byte-level BPE tokenizer fitted to rendered conversations, as a transformers fast tokenizer with ChatML."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    specials = [PAD, IM_START, IM_END]
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    if vocab_size < len(specials) + len(alphabet):
        raise ConfigError(f"task_args.vocab_size must be at least {len(specials) + len(alphabet)} (3 special tokens "
                          f"and 256 bytes), got {vocab_size}")
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)]
    )
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=specials,
                                  initial_alphabet=alphabet, show_progress=False)
    tokenizer.train_from_iterator(texts, trainer=trainer, length=len(texts))
    return wrap(tokenizer, CHATML, {"eos_token": IM_END, "pad_token": PAD})


def wrap(tokenizer: Any, chat_template: str, special: dict[str, str | None]) -> Any:
    """A ``tokenizers.Tokenizer`` as a transformers fast tokenizer (what ``generate``'s streamer decodes with)."""
    from transformers import PreTrainedTokenizerFast

    special = {k: v for k, v in special.items() if v is not None}
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, chat_template=chat_template, **special)


def to_info(tokenizer: Any) -> dict[str, Any]:
    """What a checkpoint stores to rebuild ``tokenizer``: its JSON, chat template and special tokens."""
    return {
        "tokenizer": json.loads(tokenizer.backend_tokenizer.to_str()),
        "chat_template": tokenizer.chat_template,
        "special_tokens": {key: getattr(tokenizer, key, None) for key in _SPECIAL_KEYS},
    }


def from_info(info: dict[str, Any]) -> Any:
    from tokenizers import Tokenizer

    return wrap(Tokenizer.from_str(json.dumps(info["tokenizer"])), info["chat_template"], info["special_tokens"])


def with_chat_template(tokenizer: Any) -> tuple[Any, bool]:
    """``tokenizer`` with a chat template and a padding token: its own, else ChatML (adding its two tokens) and its
    end-of-text token. True when tokens were added (the model's embeddings must grow to match)."""
    added = False
    if not tokenizer.chat_template:
        added = tokenizer.add_special_tokens({"additional_special_tokens": [IM_START, IM_END]}) > 0
        tokenizer.chat_template = CHATML
        tokenizer.eos_token = IM_END
    if tokenizer.pad_token is None:
        if tokenizer.eos_token is None:
            raise ConfigError("the pretrained tokenizer has neither a padding nor an end-of-text token")
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer, added


def end_token_ids(tokenizer: Any) -> list[int]:
    """Tokens that end an assistant turn: the end-of-text token and, for ChatML templates, ``<|im_end|>``."""
    ids = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
    end = tokenizer.convert_tokens_to_ids(IM_END) if IM_END in tokenizer.get_vocab() else None
    return list(dict.fromkeys([*ids, *([end] if end is not None else [])]))


class Renderer:
    """The tokenizer's chat template compiled once (transformers' own Jinja environment), rendering conversations
    to text and to the character spans of their assistant messages."""

    def __init__(self, chat_template: str, special: dict[str, str | None] | None = None):
        from transformers.utils.chat_template_utils import _compile_jinja_template

        self.template = _compile_jinja_template(chat_template)
        self.special = special or {}

    @classmethod
    def of(cls, tokenizer: Any) -> Renderer:
        return cls(tokenizer.chat_template, {key: getattr(tokenizer, key, None) for key in _SPECIAL_KEYS})

    def __call__(self, messages: Sequence[Message], generation_prompt: bool = False) -> str:
        return self.template.render(messages=list(messages), add_generation_prompt=generation_prompt, **self.special)

    def spans(self, messages: Sequence[Message], where: str = "a conversation") -> tuple[str, list[tuple[int, int]]]:
        """The rendered conversation and the ``(start, end)`` characters of each assistant message's turn."""
        full, spans = self(messages), []
        for index, message in enumerate(messages):
            if message["role"] != "assistant":
                continue
            before, through = self(messages[:index], True), self(messages[: index + 1])
            if not (through.startswith(before) and full.startswith(through)):
                raise ConfigError(
                    f"{where}: the chat template does not render a conversation's start the same whatever follows, "
                    "so the assistant's tokens cannot be told apart; train on every token with task_args.loss_on=all"
                )
            spans.append((len(before), len(through.rstrip())))
        return full, spans


@dataclass
class Encoded:
    """A conversation's token ids and labels (the id where the token is learned, else :data:`IGNORE`)."""

    ids: list[int]
    labels: list[int]


def encode(
    tokenizer: Any, conversations: Sequence[Sequence[Message]], loss_on: str, source: str = "a conversation"
) -> list[Encoded]:
    """Token ids of each whole conversation, learned on assistant tokens only (``loss_on="assistant"``) or on all."""
    renderer = Renderer.of(tokenizer)
    texts, spans = [], []
    for index, messages in enumerate(conversations):
        text, turn_spans = renderer.spans(messages, f"{source}, conversation {index}")
        texts.append(text)
        spans.append(turn_spans)
    batch = tokenizer(texts, add_special_tokens=False, return_offsets_mapping=True)
    out = []
    for ids, offsets, turn_spans in zip(batch["input_ids"], batch["offset_mapping"], spans):
        labels = list(ids) if loss_on == "all" else _assistant_labels(ids, offsets, turn_spans)
        out.append(Encoded(list(ids), labels))
    return out


def _assistant_labels(ids: Sequence[int], offsets: Sequence[tuple[int, int]],
                      spans: Sequence[tuple[int, int]]) -> list[int]:
    """``ids`` where a token's characters overlap an assistant span, else :data:`IGNORE`: tokens and spans both run
    left to right, so one pass over each (the spans do not overlap)."""
    labels, turn = [], 0
    for token, (start, end) in zip(ids, offsets):
        while turn < len(spans) and spans[turn][1] <= start:
            turn += 1
        learned = turn < len(spans) and spans[turn][0] < end  # the span ends after the token starts
        labels.append(token if learned else IGNORE)
    return labels


def prompt_ids(tokenizer: Any, messages: Sequence[Message], renderer: Renderer | None = None) -> list[int]:
    """Token ids of a conversation followed by the template's prompt for the assistant's next turn."""
    text = (renderer or Renderer.of(tokenizer))(messages, True)
    return tokenizer(text, add_special_tokens=False)["input_ids"]
