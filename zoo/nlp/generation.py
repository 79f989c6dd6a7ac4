"""Text generation options and the one path every generating problem (chat, translation) calls transformers through.

    options = GenerationOptions(max_new_tokens=32, temperature=0.7, top_p=0.9, seed=0)
    new = generate(model, input_ids, attention_mask, options, eos_token_id=2, pad_token_id=0)   # (batch, new tokens)
    for piece in stream(model, tokenizer, input_ids, attention_mask, options):   # text as it is generated
        print(piece, end="", flush=True)

Decoding itself is transformers' ``generate`` (greedy, sampling with temperature, top-k and top-p, beam search,
the KV cache): zoo only turns its options into a ``GenerationConfig``, validates them with one clear line each,
seeds sampling without touching the caller's random state, and strips the prompt from the result. Streaming runs
``generate`` in a thread feeding a ``transformers.TextIteratorStreamer``.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from typing import Any

import torch
from torch import Tensor, nn

from zoo.errors import ConfigError


@dataclass
class GenerationOptions:
    """How to decode; ``temperature`` 0 (the default) is greedy, above 0 samples. Fields become ``--NAME`` flags."""

    max_new_tokens: int = field(default=64, metadata={"help": "most tokens generated per answer"})
    temperature: float = field(default=0.0, metadata={"help": "0: greedy; above 0: sample with this temperature"})
    top_k: int = field(default=0, metadata={"help": "sample among the k likeliest tokens (0: all)"})
    top_p: float = field(default=1.0, metadata={"help": "sample within this much probability mass (1: all)"})
    num_beams: int = field(default=1, metadata={"help": "beam search width (1: no beam search)"})
    seed: int | None = field(default=None, metadata={"help": "seed of sampling: the same seed repeats a sample"})
    do_sample: bool | None = field(default=None, metadata={"help": "sample (default: when temperature > 0)"})

    def __post_init__(self) -> None:
        checks = [
            (self.max_new_tokens >= 1, f"max_new_tokens must be at least 1, got {self.max_new_tokens}"),
            (self.temperature >= 0, f"temperature must be 0 (greedy) or more, got {self.temperature}"),
            (self.top_k >= 0, f"top_k must be 0 (off) or more, got {self.top_k}"),
            (0 < self.top_p <= 1, f"top_p must be in (0, 1], got {self.top_p}"),
            (self.num_beams >= 1, f"num_beams must be at least 1, got {self.num_beams}"),
            (not (self.do_sample and self.temperature == 0),
             "do_sample needs a temperature above 0 (temperature 0 means greedy); set --temperature, e.g. 0.7"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(f"generation option {message}")

    @property
    def sampling(self) -> bool:
        return self.do_sample if self.do_sample is not None else self.temperature > 0

    @classmethod
    def of(cls, options: Any) -> GenerationOptions:
        """The generation fields of any dataclass holding them (a task's predict options), others ignored."""
        return cls(**{f.name: getattr(options, f.name) for f in fields(cls) if hasattr(options, f.name)})


def generation_config(options: GenerationOptions, eos_token_id: int | list[int] | None, pad_token_id: int) -> Any:
    """A fresh ``transformers.GenerationConfig``: a pretrained model's own defaults (its sampling temperature,
    say) never mix into what was asked for."""
    from transformers import GenerationConfig

    sampling = {"temperature": options.temperature, "top_k": options.top_k, "top_p": options.top_p}
    return GenerationConfig(
        max_new_tokens=options.max_new_tokens, do_sample=options.sampling, num_beams=options.num_beams,
        eos_token_id=eos_token_id, pad_token_id=pad_token_id, **(sampling if options.sampling else {}),
    )


@contextlib.contextmanager
def seeded(seed: int | None, device: torch.device) -> Iterator[None]:
    """Sampling draws from torch's global generator: with a seed, draw inside a fork of it, so that the caller's
    random state (a training run's) is the same afterwards."""
    if seed is None:
        yield
        return
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices, device_type=device.type if devices else "cuda"):
        torch.manual_seed(seed)
        yield


def generate(
    model: nn.Module,
    input_ids: Tensor,
    attention_mask: Tensor | None,
    options: GenerationOptions,
    eos_token_id: int | list[int] | None,
    pad_token_id: int,
    streamer: Any = None,
) -> Tensor:
    """The tokens ``model.generate`` adds after each prompt (left-padded for decoder-only models), without the
    prompt (decoder-only) or the decoder start token (encoder-decoder): ``(batch, new tokens)``, padded with
    ``pad_token_id`` after an end token."""
    config = generation_config(options, eos_token_id, pad_token_id)
    if streamer is not None and options.num_beams > 1:
        raise ConfigError("streaming shows one sequence as it grows; beam search keeps several: set num_beams=1")
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), seeded(options.seed, input_ids.device):
            out = model.generate(input_ids=input_ids, attention_mask=attention_mask, generation_config=config,
                                 streamer=streamer)
    finally:
        model.train(was_training)
    sequences = out.sequences if hasattr(out, "sequences") else out
    start = 1 if getattr(model.config, "is_encoder_decoder", False) else input_ids.shape[1]
    return sequences[:, start:]


def stream(
    model: nn.Module,
    tokenizer: Any,
    input_ids: Tensor,
    attention_mask: Tensor | None,
    options: GenerationOptions,
    eos_token_id: int | list[int] | None,
    pad_token_id: int,
    timeout: float | None = None,
) -> Iterator[str]:
    """The text of one prompt's answer, piece by piece as tokens are generated (special tokens left out).

    ``tokenizer`` is a transformers tokenizer (it decodes the pieces). An error inside ``generate`` is raised here,
    once the pieces generated before it have been yielded.
    """
    from transformers import TextIteratorStreamer

    if input_ids.shape[0] != 1:
        raise ConfigError(f"stream generates one answer at a time, got a batch of {input_ids.shape[0]} prompts")
    streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=timeout)
    failure: list[BaseException] = []

    def run() -> None:
        try:
            generate(model, input_ids, attention_mask, options, eos_token_id, pad_token_id, streamer)
        except BaseException as error:  # noqa: BLE001 - handed to the reading thread below
            failure.append(error)
            streamer.end()

    thread = threading.Thread(target=run, name="zoo-generate", daemon=True)
    thread.start()
    try:
        yield from streamer
    finally:
        thread.join()
    if failure:
        raise failure[0]
