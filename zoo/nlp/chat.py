"""Chat: supervised fine-tuning of causal language models on conversations, scored by the answers they generate.

    python -m zoo.train --task nlp --problem chat                    # a tiny Llama from scratch on the world dialogues
    python -m zoo.train --task nlp --problem chat --model causal_lm --dataset chatterbot \
        model.pretrained=/tmp/smollm/SmolLM2-135M-Instruct.Q4_1.gguf data.args.root=chatterbot_corpus/data/english
    python -m zoo.train --task nlp --problem chat --model llama_small trainer.device=cuda trainer.precision=bf16
    python -m zoo predict --checkpoint runs/nlp/RUN "There are 2 red balls and 3 blue cubes. How many cubes are there?"
    python -m zoo chat --checkpoint runs/nlp/RUN

Conversations are rendered with the tokenizer's chat template and learned on the assistant's tokens only
(``task_args.loss_on=assistant``; ``all`` learns the whole text), in batches of conversations of similar length.
Validation reports the perplexity of the assistant's tokens (whatever ``loss_on``; so does its loss), and the exact match and token F1 of greedy answers
to the last question of the first ``task_args.eval_generate`` validation conversations (their earlier turns given).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import Dataset
from torchmetrics import Metric, MetricCollection
from torchmetrics.text import Perplexity

from zoo.errors import ConfigError
from zoo.nlp import chat_tokens
from zoo.nlp.chat_tokens import IGNORE, Message
from zoo.nlp.dialogues import ChatSplit, check_messages
from zoo.nlp.generation import GenerationOptions, generate
from zoo.task import StepOutput, Task, TaskData, evaluated_split

log = logging.getLogger(__name__)


@dataclass
class ChatOptions:
    loss_on: Literal["assistant", "all"] = "assistant"  # which tokens are learned
    max_length: int = 256  # context in tokens; longer training conversations are cut (and counted in a warning)
    vocab_size: int = 512  # of the BPE tokenizer trained for a from-scratch model; a pretrained one brings its own
    min_frequency: int = 2
    bucket_by_length: bool = True  # batch conversations of similar length: less padding
    eval_generate: int = 200  # validation conversations whose last answer is generated for exact match and F1
    eval_max_new_tokens: int = 24
    predict_batch_size: int = 16


@dataclass
class ChatPredictOptions(GenerationOptions):
    """``zoo predict`` and ``zoo chat`` options: how to generate, and an optional system message."""

    system: str = field(default="", metadata={"help": "a system message put before the conversation"})


def normalize(text: str) -> str:
    """Answers compare case-folded, with runs of whitespace as one space and no surrounding punctuation."""
    return " ".join(text.casefold().split()).strip(" .,!?;:\"'")


def token_f1(prediction: str, reference: str) -> float:
    """SQuAD's token F1: the harmonic mean of the precision and recall of shared words."""
    from collections import Counter

    pred, ref = normalize(prediction).split(), normalize(reference).split()
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


class AnswerScore(Metric):
    """Mean exact match (``kind="exact"``) or token F1 (``kind="f1"``) of generated answers against references."""

    full_state_update = False

    def __init__(self, kind: Literal["exact", "f1"]):
        super().__init__()
        self.kind = kind
        self.add_state("total", torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", torch.tensor(0, dtype=torch.int64), dist_reduce_fx="sum")

    def update(self, predictions: Sequence[str], references: Sequence[str]) -> None:
        score = (lambda p, r: float(normalize(p) == normalize(r))) if self.kind == "exact" else token_f1
        self.total += sum(score(p, r) for p, r in zip(predictions, references, strict=True))
        self.count += len(references)

    def compute(self) -> Tensor:
        return (self.total / self.count.clamp(min=1)).float()


class TokenizedChats(Dataset):
    """Conversations as token ids and labels in flat arrays; validation items also hold the prompt of their last
    answer and its text, for the first ``generate`` of them."""

    def __init__(self, encoded: list[chat_tokens.Encoded], prompts: Sequence[list[int] | None] = (),
                 answers: Sequence[str | None] = ()):
        lengths = np.fromiter((len(e.ids) for e in encoded), dtype=np.int64, count=len(encoded))
        self.offsets = np.concatenate([[0], np.cumsum(lengths)])
        self.ids = np.fromiter((t for e in encoded for t in e.ids), dtype=np.int64, count=int(self.offsets[-1]))
        self.labels = np.fromiter((t for e in encoded for t in e.labels), dtype=np.int64, count=int(self.offsets[-1]))
        self.prompts = list(prompts) + [None] * (len(encoded) - len(prompts))
        self.answers = list(answers) + [None] * (len(encoded) - len(answers))

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def lengths(self) -> list[int]:
        return np.diff(self.offsets).tolist()

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor, Tensor | None, str | None]:
        start, end = self.offsets[index], self.offsets[index + 1]
        prompt = self.prompts[index]
        return (torch.from_numpy(self.ids[start:end]), torch.from_numpy(self.labels[start:end]),
                torch.tensor(prompt) if prompt is not None else None, self.answers[index])


class ChatBatch:
    """Collate: conversations padded on the right; prompts to generate from padded on the left (picklable)."""

    def __init__(self, pad_token_id: int):
        self.pad_token_id = pad_token_id

    def __call__(self, items: list[tuple[Tensor, Tensor, Tensor | None, str | None]]) -> dict[str, Any]:
        ids = [item[0] for item in items]
        batch: dict[str, Any] = {
            "input_ids": nn.utils.rnn.pad_sequence(ids, batch_first=True, padding_value=self.pad_token_id),
            "labels": nn.utils.rnn.pad_sequence([item[1] for item in items], batch_first=True, padding_value=IGNORE),
            "attention_mask": nn.utils.rnn.pad_sequence([torch.ones_like(x) for x in ids], batch_first=True),
        }
        prompts = [(item[2], item[3]) for item in items if item[2] is not None]
        if prompts:
            batch.update(left_pad([p for p, _ in prompts], self.pad_token_id))
            batch["answers"] = [answer for _, answer in prompts]
        return batch


def left_pad(prompts: Sequence[Tensor], pad_token_id: int) -> dict[str, Tensor]:
    """Prompts padded on the left, as decoder-only ``generate`` wants them."""
    flipped = [p.flip(0) for p in prompts]
    ids = nn.utils.rnn.pad_sequence(flipped, batch_first=True, padding_value=pad_token_id).flip(1)
    mask = nn.utils.rnn.pad_sequence([torch.ones_like(p) for p in flipped], batch_first=True).flip(1)
    return {"prompt_ids": ids, "prompt_mask": mask}


def shifted_loss(logits: Tensor, labels: Tensor) -> tuple[Tensor, int]:
    """Mean cross-entropy of each next token that is learned, and how many there are."""
    target = labels[:, 1:]
    count = int((target != IGNORE).sum())
    if count == 0:  # nothing learned in this batch (every answer cut off): a zero that still has a graph
        return logits.sum() * 0.0, 0
    loss = F.cross_entropy(logits[:, :-1].flatten(0, 1).float(), target.flatten(), ignore_index=IGNORE)
    return loss, count


class Chat(Task):
    monitor = "exact_match"
    monitor_mode = "max"
    Options = ChatOptions
    PredictOptions = ChatPredictOptions

    def __init__(self, config: Any):
        super().__init__(config)
        if "pretrained" in config.model.args:
            raise ConfigError("set the pretrained model with model.pretrained=PATH, not model.args.pretrained")
        self._tokenizer: Any = None

    # -- data -----------------------------------------------------------------------------------------------------
    def build_data(self, splits: Sequence[str]) -> TaskData:
        loaded: dict[str, ChatSplit] = {split: self.load_split(split) for split in splits}
        tokenizer, info = self._tokenizer_and_info(loaded)
        context, o = info["max_length"], self.options
        datasets = {split: self._dataset(tokenizer, data, context, split != "train") for split, data in loaded.items()}
        lengths = {s: d.lengths() for s, d in datasets.items()} if o.bucket_by_length else {}
        return TaskData(train=datasets.get("train"), val=evaluated_split(datasets), info=info,
                        collate=ChatBatch(info["pad_token_id"]), train_lengths=lengths.get("train"),
                        val_lengths=evaluated_split(lengths))

    def _dataset(self, tokenizer: Any, data: ChatSplit, context: int, evaluated: bool) -> TokenizedChats:
        # Validation learns nothing: its labels are the assistant's tokens whatever loss_on, for their perplexity.
        loss_on = "assistant" if evaluated else self.options.loss_on
        encoded = chat_tokens.encode(tokenizer, data.conversations, loss_on, data.source)
        cut = 0
        for item in encoded:
            if len(item.ids) > context:
                item.ids, item.labels, cut = item.ids[:context], item.labels[:context], cut + 1
        if cut:
            log.warning("%d of %d conversations of %s are longer than the context of %d tokens and were cut to it "
                        "(raise task_args.max_length to keep them whole)", cut, len(encoded), data.source, context)
        if not evaluated:
            return TokenizedChats(encoded)
        renderer = chat_tokens.Renderer.of(tokenizer)
        prompts: list[list[int] | None] = []
        answers: list[str | None] = []
        for messages in data.conversations[: self.options.eval_generate]:
            last = max((i for i, m in enumerate(messages) if m["role"] == "assistant"), default=None)
            ids = chat_tokens.prompt_ids(tokenizer, messages[:last], renderer) if last else None
            fits = ids is not None and len(ids) < context
            prompts.append(ids if fits else None)
            answers.append(messages[last]["content"] if fits else None)
        return TokenizedChats(encoded, prompts, answers)

    def _tokenizer_and_info(self, loaded: dict[str, ChatSplit]) -> tuple[Any, dict[str, Any]]:
        """The checkpoint's saved tokenizer, the pretrained model's own, or a BPE trained on the training split."""
        o, pretrained = self.options, self.config.model.pretrained
        if self.saved_info is not None:
            return self.tokenizer(self.saved_info), self.saved_info
        info: dict[str, Any] = {"loss_on": o.loss_on}
        if self.config.model.name == "causal_lm":
            from zoo.nlp.causal import pretrained_config, pretrained_tokenizer

            tokenizer, _ = chat_tokens.with_chat_template(pretrained_tokenizer(pretrained))
            hf_config = pretrained_config(pretrained)
            hf_config["vocab_size"] = max(int(hf_config["vocab_size"]), len(tokenizer))
            limit = hf_config.get("max_position_embeddings") or o.max_length
            info.update(hf_config=hf_config, vocab_size=hf_config["vocab_size"], tokenizer_source=pretrained,
                        max_length=min(o.max_length, int(limit)))
        else:
            train = loaded["train"] if "train" in loaded else self.load_split("train")
            renderer = chat_tokens.Renderer(chat_tokens.CHATML)
            texts = [renderer(messages) for messages in train.conversations]
            tokenizer = chat_tokens.train_tokenizer(texts, o.vocab_size, o.min_frequency)
            info.update(vocab_size=o.vocab_size, max_length=o.max_length,
                        tokenizer_source=f"byte-level BPE trained on {self.config.data.dataset} (train split)")
        info.update(pad_token_id=int(tokenizer.pad_token_id), end_token_ids=chat_tokens.end_token_ids(tokenizer),
                    **chat_tokens.to_info(tokenizer))
        self._tokenizer = tokenizer
        return tokenizer, info

    def tokenizer(self, info: dict[str, Any]) -> Any:
        if self._tokenizer is None:
            self._tokenizer = chat_tokens.from_info(info)
        return self._tokenizer

    # -- model ----------------------------------------------------------------------------------------------------
    def model_defaults(self, info: dict[str, Any]) -> dict[str, Any]:
        defaults: dict[str, Any] = {
            "vocab_size": info["vocab_size"], "max_length": info["max_length"], "pad_token_id": info["pad_token_id"],
            "eos_token_id": info["end_token_ids"], "pretrained": self.config.model.pretrained,
        }
        if "hf_config" in info and self.saved_info is not None:
            defaults["hf_config"] = info["hf_config"]  # zoo's checkpoint: the architecture, then zoo's weights
        return defaults

    # -- steps and metrics ----------------------------------------------------------------------------------------
    def build_metrics(self, info: dict[str, Any]) -> MetricCollection:
        metrics: dict[str, Metric] = {"perplexity": Perplexity(ignore_index=IGNORE)}
        if self.options.eval_generate > 0:
            metrics.update(exact_match=AnswerScore("exact"), token_f1=AnswerScore("f1"))
        return MetricCollection(metrics, compute_groups=False)

    def train_step(self, model: nn.Module, batch: dict[str, Any]) -> StepOutput:
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], use_cache=False).logits
        loss, _ = shifted_loss(logits, batch["labels"])
        return StepOutput(loss, batch["input_ids"].shape[0])  # the loss is the mean over the batch's learned tokens

    def eval_step(self, model: nn.Module, batch: dict[str, Any], metrics: MetricCollection) -> StepOutput:
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], use_cache=False).logits
        loss, count = shifted_loss(logits, batch["labels"])
        if count:
            metrics["perplexity"].update(logits[:, :-1].float(), batch["labels"][:, 1:])
        if "prompt_ids" in batch and "exact_match" in metrics:
            answers = self.answers(model, batch["prompt_ids"], batch["prompt_mask"], self._eval_options())
            metrics["exact_match"].update(answers, batch["answers"])
            metrics["token_f1"].update(answers, batch["answers"])
        return StepOutput(loss, batch["input_ids"].shape[0])

    def _eval_options(self) -> GenerationOptions:
        return GenerationOptions(max_new_tokens=self.options.eval_max_new_tokens)

    def answers(self, model: nn.Module, ids: Tensor, mask: Tensor, options: GenerationOptions,
                info: dict[str, Any] | None = None) -> list[str]:
        """Generated answers to left-padded prompts, decoded without special tokens."""
        info = info or self.saved_info or {}
        tokenizer = self._tokenizer if self._tokenizer is not None else self.tokenizer(info)
        new = generate(model, ids, mask, options, chat_tokens.end_token_ids(tokenizer), int(tokenizer.pad_token_id))
        return [text.strip() for text in tokenizer.batch_decode(new, skip_special_tokens=True)]

    # -- use ------------------------------------------------------------------------------------------------------
    def prompt(self, messages: Sequence[Message], info: dict[str, Any], system: str = "") -> list[int]:
        """Token ids asking for the assistant's next turn; an empty message or one past the context is an error."""
        if system:
            messages = [{"role": "system", "content": system}, *messages]
        messages = check_messages(list(messages), "the conversation")
        if not messages[-1]["content"].strip():
            raise ConfigError("the prompt is empty: type a question or a message for the assistant")
        ids = chat_tokens.prompt_ids(self.tokenizer(info), messages)
        if len(ids) >= info["max_length"]:
            raise ConfigError(f"the prompt is {len(ids)} tokens, which leaves no room in the model's context of "
                              f"{info['max_length']} tokens: shorten it (in zoo chat, /reset starts a new conversation)")
        return ids

    def generation(self, options: ChatPredictOptions | None, prompt_length: int, info: dict[str, Any]
                   ) -> GenerationOptions:
        """The options asked for, with the answer kept inside the context after the prompt."""
        asked = GenerationOptions.of(options or ChatPredictOptions())
        room = info["max_length"] - prompt_length
        if asked.max_new_tokens > room:
            asked.max_new_tokens = room
        return asked

    @torch.no_grad()
    def predict(self, model: nn.Module, inputs: Sequence[str], info: dict[str, Any], device: torch.device,
                options: ChatPredictOptions | None = None) -> list[dict[str, Any]]:
        """Each input is a user message starting a new conversation; the answer is the assistant's reply."""
        options = options or ChatPredictOptions()
        if not inputs:
            raise ConfigError("predict needs at least one prompt: zoo predict --checkpoint RUN \"a question\"")
        results = []
        size = max(1, self.options.predict_batch_size)
        for start in range(0, len(inputs), size):
            texts = list(inputs[start : start + size])
            prompts = [torch.tensor(self.prompt([{"role": "user", "content": t}], info, options.system)) for t in texts]
            padded = left_pad(prompts, info["pad_token_id"])
            generation = self.generation(options, max(len(p) for p in prompts), info)
            answers = self.answers(model, padded["prompt_ids"].to(device), padded["prompt_mask"].to(device),
                                   generation, info)
            results += [{"input": text, "answer": answer} for text, answer in zip(texts, answers)]
        return results

    def predict_inputs(self, directory: Path, info: dict[str, Any]) -> list[str]:
        """Prompts as a user types them: the first user turns of two validation conversations."""
        path = self.write_samples(directory, 2)[0]
        return path.read_text(encoding="utf-8").splitlines()

    def format_prediction(self, prediction: dict[str, Any]) -> str:
        return prediction["answer"] or "(an empty answer: the model ended its turn at once)"

    def write_samples(self, directory: Path, count: int) -> list[Path]:
        """``prompts.txt``: the first user turn of validation conversations, one per line (``predict --file``);
        ``references.json`` holds the assistant's answers to them in line order."""
        from zoo import samples

        split = self.load_split("val")
        chosen = samples.pick(len(split.conversations), count)
        pairs = []
        for index in chosen:
            messages = split.conversations[index]
            user = next((i for i, m in enumerate(messages) if m["role"] == "user"), None)
            if user is not None and user + 1 < len(messages) and messages[user + 1]["role"] == "assistant":
                pairs.append((" ".join(messages[user]["content"].split()), messages[user + 1]["content"]))
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "prompts.txt"
        path.write_text("".join(f"{prompt}\n" for prompt, _ in pairs), encoding="utf-8")
        samples.write_references(directory, {path.name: [answer for _, answer in pairs]})
        return [path]

    def report(self, model: nn.Module, batches: Iterable[Any], info: dict[str, Any], directory: Path) -> list[Path]:
        """``answers.md``: a table of validation questions (their last user turn), generated and reference answers."""
        tokenizer, rows = self.tokenizer(info), []
        for batch in batches:
            if "prompt_ids" not in batch:
                continue
            answers = self.answers(model, batch["prompt_ids"], batch["prompt_mask"], self._eval_options(), info)
            for ids, mask, answer, reference in zip(batch["prompt_ids"], batch["prompt_mask"], answers,
                                                    batch["answers"]):
                text = tokenizer.decode(ids[mask.bool()], skip_special_tokens=False)
                rows.append((_last_turn(text), answer, reference))
            if len(rows) >= 40:
                break
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "answers.md"
        cell = lambda text: " ".join(text.split()).replace("|", "\\|")[:160]  # noqa: E731
        lines = ["| question | answer | reference | match |", "|---|---|---|---|"]
        lines += [f"| {cell(q)} | {cell(a)} | {cell(r)} | {'yes' if normalize(a) == normalize(r) else 'no'} |"
                  for q, a, r in rows[:40]]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return [path]


def _last_turn(prompt: str) -> str:
    """The last user message of a rendered ChatML prompt (the whole prompt for other templates)."""
    marker = f"{chat_tokens.IM_START}user\n"
    if marker not in prompt:
        return prompt
    return prompt.rsplit(marker, 1)[1].split(chat_tokens.IM_END, 1)[0]
