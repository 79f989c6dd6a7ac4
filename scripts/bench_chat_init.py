"""How fast ``llama_tiny`` learns to look a value up in its context, per start, input and learning rate.

    python scripts/bench_chat_init.py                   # three settings at three learning rates, 1,000 steps
    python scripts/bench_chat_init.py --steps 600 --lr 0.0005 0.002
    python scripts/bench_chat_init.py --gap 1 --steps 2000 --lr 0.001    # a word between the key and its value
    python scripts/bench_chat_init.py --prefix 100 --steps 2000 --lr 0.001   # 100 tokens of text before the pairs

The task is multi-query associative recall, the core of every lookup the chat recipe's questions ask: a sequence
states three key-value pairs ("k3 v5 k1 v0 k4 v2"), then asks keys back ("k1 ?"), and the model is scored on the
value it predicts. Keys and values are drawn fresh for every sequence, so nothing can be memorised and chance is
one in three among the values shown. Printed per setting: accuracy on 256 fresh sequences every 100 steps, and the
first step at which it passed 0.95. Batches of 8 sequences, AdamW betas (0.9, 0.95), one thread. The settings:
zoo's ``llama_tiny`` (reading the two tokens before each position), the same without them, and that plain Llama
with the older start (embeddings tied to the output layer, std 0.088).

Two options add, one at a time, what the world dialogues have around each lookup. ``--gap N`` writes N tokens
between the asked key and its value ("k1 = ?"), as "are" stands between "cubes" and "blue" in "The cubes are blue.".
``--prefix N`` puts N random tokens of other text before the pairs, as a dialogue has about 140 tokens. With
either, at lr 0.001, zoo's setting is exact within 300 steps and the plain Llama stays at chance for 1,000.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

KEYS, VALUES, PAIRS, QUERIES = 6, 7, 3, 4
TEXT_TOKENS = 20  # kinds of other text (--prefix)
SEPARATOR, GAP, TEXT = KEYS + VALUES, KEYS + VALUES + 1, KEYS + VALUES + 2  # TEXT: the first text token
PAD = TEXT + TEXT_TOKENS  # what a position before the sequence's start reads as its preceding tokens
VOCAB = PAD + 1
SETTINGS = {
    "zoo (2 preceding tokens)": {},
    "no preceding tokens": {"preceding_tokens": 0},
    "no preceding, tied, std 0.088": {"preceding_tokens": 0, "tie_embeddings": True, "embedding_std": None},
}


def sequences(
    rng: random.Random, count: int, gap: int = 0, prefix: int = 0
) -> tuple["torch.Tensor", "torch.Tensor"]:
    """Token ids and targets (-100 where nothing is scored): other text, pairs, a separator, then queries answered."""
    import torch

    inputs, targets = [], []
    for _ in range(count):
        keys, values = rng.sample(range(KEYS), PAIRS), rng.sample(range(VALUES), PAIRS)
        ids = [TEXT + rng.randrange(TEXT_TOKENS) for _ in range(prefix)]
        ids += [token for key, value in zip(keys, values) for token in (key, KEYS + value)] + [SEPARATOR]
        scored = [-100] * len(ids)
        for _ in range(QUERIES):
            i = rng.randrange(PAIRS)
            ids += [keys[i], *[GAP] * gap, KEYS + values[i]]
            scored += [-100] * (1 + gap) + [KEYS + values[i]]
        inputs.append(ids)
        targets.append(scored)
    return torch.tensor(inputs), torch.tensor(targets)


def learn(
    steps: int, lr: float, model_args: dict, every: int = 100, gap: int = 0, prefix: int = 0
) -> list[tuple[int, float]]:
    import torch
    import torch.nn.functional as F

    from zoo.nlp.causal import llama_tiny

    torch.manual_seed(0)
    rng = random.Random(0)
    length = PAIRS * 2 + 1 + QUERIES * (2 + gap) + prefix
    model = llama_tiny(vocab_size=VOCAB, pad_token_id=PAD, max_length=length, **model_args)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.95), weight_decay=0.01)
    curve = []
    for step in range(1, steps + 1):
        ids, targets = sequences(rng, 8, gap, prefix)
        logits = model(input_ids=ids).logits[:, :-1]
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), targets[:, 1:].reshape(-1), ignore_index=-100)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        if step % every == 0:
            with torch.no_grad():
                ids, targets = sequences(rng, 256, gap, prefix)
                predicted = model(input_ids=ids).logits[:, :-1].argmax(-1)
                scored = targets[:, 1:] != -100
                curve.append((step, (predicted[scored] == targets[:, 1:][scored]).float().mean().item()))
    return curve


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--lr", type=float, nargs="+", default=[0.0005, 0.001, 0.002])
    parser.add_argument("--gap", type=int, default=0, help="tokens between an asked key and its value")
    parser.add_argument("--prefix", type=int, default=0, help="random tokens before the pairs")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    print(f"gap {args.gap}, prefix {args.prefix}")
    print(f"{'setting':<32} {'lr':>7} {'step at 0.95':>12} {'final':>6}  curve (every 100 steps)   time")
    for name, model_args in SETTINGS.items():
        for lr in args.lr:
            start = time.time()
            curve = learn(args.steps, lr, model_args, gap=args.gap, prefix=args.prefix)
            passed = next((step for step, accuracy in curve if accuracy >= 0.95), None)
            shown = " ".join(f"{accuracy:.2f}" for _, accuracy in curve)
            print(f"{name:<32} {lr:>7} {passed if passed else '-':>12} {curve[-1][1]:>6.3f}  {shown}  "
                  f"{time.time() - start:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
