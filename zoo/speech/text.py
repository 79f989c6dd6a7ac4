"""Characters for CTC: the vocabulary, transcript normalisation, and greedy and prefix-beam-search decoding."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence

import torch
from torch import Tensor

BLANK = "<blank>"


def normalise(text: str) -> str:
    """Lower case, runs of whitespace as one space: LibriSpeech's upper-case transcripts and the user's agree."""
    return re.sub(r"\s+", " ", text.lower()).strip()


class Vocabulary:
    """Index 0 is the CTC blank; then the characters, space included, in sorted order."""

    def __init__(self, tokens: Sequence[str]):
        if not tokens or tokens[0] != BLANK:
            raise ValueError(f"a CTC vocabulary starts with {BLANK!r}, got {list(tokens[:3])}")
        self.tokens = list(tokens)
        self.index = {t: i for i, t in enumerate(self.tokens)}

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> Vocabulary:
        chars = sorted({c for text in texts for c in normalise(text)})
        return cls([BLANK, *chars])

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, text: str) -> list[int]:
        """Ids of the characters of the normalised text; characters outside the vocabulary are dropped."""
        return [self.index[c] for c in normalise(text) if c in self.index]

    def decode(self, ids: Iterable[int]) -> str:
        return normalise("".join(self.tokens[i] for i in ids if i != 0))


def greedy_decode(logits: Tensor, lengths: Tensor) -> list[list[int]]:
    """Best label per frame, repeats merged, blanks dropped (CTC's best-path decoding)."""
    best = logits.argmax(dim=-1).cpu()
    out = []
    for row, n in zip(best, lengths.cpu().tolist()):
        path = row[:n]
        keep = torch.ones_like(path, dtype=torch.bool)
        keep[1:] = path[1:] != path[:-1]
        out.append([int(i) for i in path[keep] if i != 0])
    return out


def beam_decode(log_probs: Tensor, length: int, beam: int) -> list[int]:
    """CTC prefix beam search without a language model (Hannun et al., 2014) over one utterance's log-probabilities.

    Each prefix keeps the probability of ending in a blank and in its last label, so paths that differ only in
    blanks and repeats are summed rather than competing.
    """
    probs = log_probs[:length].float().cpu()
    beams: dict[tuple[int, ...], tuple[float, float]] = {(): (0.0, -math.inf)}  # prefix -> (log p blank, log p label)
    top = min(beam, probs.shape[1])
    for frame in probs:
        candidates = frame.topk(top).indices.tolist()
        if 0 not in candidates:
            candidates.append(0)
        following: dict[tuple[int, ...], list[float]] = defaultdict(lambda: [-math.inf, -math.inf])
        for prefix, (p_blank, p_label) in beams.items():
            total = _add(p_blank, p_label)
            for c in candidates:
                p = float(frame[c])
                if c == 0:
                    entry = following[prefix]
                    entry[0] = _add(entry[0], total + p)
                    continue
                extended = prefix + (c,)
                entry = following[extended]
                if prefix and prefix[-1] == c:
                    entry[1] = _add(entry[1], p_blank + p)  # a repeat needs a blank between
                    same = following[prefix]
                    same[1] = _add(same[1], p_label + p)
                else:
                    entry[1] = _add(entry[1], total + p)
        ranked = sorted(following.items(), key=lambda item: -_add(*item[1]))[:beam]
        beams = {prefix: (v[0], v[1]) for prefix, v in ranked}
    return list(max(beams.items(), key=lambda item: _add(*item[1]))[0])


def _add(a: float, b: float) -> float:
    if a == -math.inf:
        return b
    if b == -math.inf:
        return a
    return max(a, b) + math.log1p(math.exp(-abs(a - b)))
