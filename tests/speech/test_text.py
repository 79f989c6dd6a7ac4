"""CTC vocabulary, greedy and beam decoding, and the WER/CER the task reports."""

from __future__ import annotations

import math

import torch
from torchmetrics.text import CharErrorRate, WordErrorRate

from zoo.speech import text


def test_vocabulary_normalises_and_round_trips() -> None:
    vocab = text.Vocabulary.from_texts(["GO  Do you", "hear"])
    assert vocab.tokens[0] == text.BLANK and vocab.tokens[1] == " "
    ids = vocab.encode("Go do!")
    assert vocab.decode(ids) == "go do"  # "!" is not in the vocabulary
    assert text.Vocabulary(vocab.tokens).tokens == vocab.tokens


def _logits(path: list[int], size: int = 5) -> torch.Tensor:
    return torch.nn.functional.one_hot(torch.tensor(path), size).float() * 10


def test_greedy_decoding_merges_repeats_and_drops_blanks() -> None:
    logits = torch.stack([_logits([1, 1, 0, 1, 2, 2, 0, 0]), _logits([3, 0, 3, 3, 4, 4, 4, 4])])
    assert text.greedy_decode(logits, torch.tensor([8, 4])) == [[1, 1, 2], [3, 3]]


def test_beam_search_sums_paths_that_greedy_decoding_splits() -> None:
    # Per frame the blank is the likeliest label, so the best single path is empty; but "1" spread over the
    # paths 1-, -1, 11 is likelier than the empty transcript: 0.6*0.4*2 + 0.4*0.4 = 0.64 > 0.36.
    probs = torch.tensor([[0.6, 0.4], [0.6, 0.4]])
    log_probs = probs.log()
    assert text.greedy_decode(log_probs[None], torch.tensor([2])) == [[]]
    assert text.beam_decode(log_probs, 2, beam=4) == [1]
    peaked = _logits([1, 1, 0, 1, 2, 0, 3]).log_softmax(-1)
    assert text.beam_decode(peaked, 7, beam=3) == [1, 1, 2, 3]


def test_error_rates_on_known_strings() -> None:
    cer, wer = CharErrorRate(), WordErrorRate()
    cer.update(["go left"], ["go right"])
    wer.update(["go left"], ["go right"])
    assert math.isclose(float(cer.compute()), 4 / 8)  # l->r, e->i, f->g, +h
    assert math.isclose(float(wer.compute()), 1 / 2)
