"""The word-for-word baseline: each source word replaced by the target word it most often translates to.

The dictionary is learned from the training pairs with IBM Model 1 (Brown et al., 1993): a few rounds of EM over
word co-occurrences, with a NULL source word that absorbs target words no source word explains. A source word
whose best translation is weak (below ``min_probability``: articles, auxiliaries) is left out. The output keeps the
source word order, which is what a translation model must learn to change; the model is scored against this
baseline on the same split with the same BLEU.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

_WORDS = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def words(text: str) -> list[str]:
    return _WORDS.findall(text)


class WordForWord:
    """``translate(sentence)``: the source words mapped through an IBM Model 1 dictionary, in source order."""

    def __init__(self, sources: Sequence[str], targets: Sequence[str], iterations: int = 5,
                 min_probability: float = 0.15):
        src = [[w.lower() for w in words(s)] for s in sources]
        tgt = [[w.lower() for w in words(t)] for t in targets]
        self.source_vocab = {w: i + 1 for i, w in enumerate(sorted({w for s in src for w in s}))}  # 0 is NULL
        target_vocab = sorted({w for t in tgt for w in t})
        self.target_words = target_vocab
        tindex = {w: i for i, w in enumerate(target_vocab)}
        # One row per (sentence, target position, source position incl. NULL) co-occurrence.
        e_ids, f_ids, groups = [], [], []
        group = 0
        for s, t in zip(src, tgt):
            sids = [0] + [self.source_vocab[w] for w in s]
            for f in t:
                fi = tindex[f]
                e_ids.extend(sids)
                f_ids.extend([fi] * len(sids))
                groups.extend([group] * len(sids))
                group += 1
        e = np.asarray(e_ids, dtype=np.int64)
        f = np.asarray(f_ids, dtype=np.int64)
        g = np.asarray(groups, dtype=np.int64)
        pair_keys = e * len(target_vocab) + f
        unique, pair = np.unique(pair_keys, return_inverse=True)
        pair_e = unique // max(len(target_vocab), 1)
        t = np.ones(len(unique))  # t(f|e), uniform start
        for _ in range(iterations):
            weights = t[pair]
            norm = np.bincount(g, weights=weights, minlength=group)
            posterior = weights / np.maximum(norm[g], 1e-300)
            counts = np.bincount(pair, weights=posterior, minlength=len(unique))
            totals = np.bincount(pair_e, weights=counts, minlength=len(self.source_vocab) + 1)
            t = counts / np.maximum(totals[pair_e], 1e-300)
        self.dictionary: dict[str, str] = {}
        inverse = {i: w for w, i in self.source_vocab.items()}
        # The source word each target word is best explained by: a pair is kept only when each is the other's best.
        best_source = np.full(len(target_vocab), -1)
        by_target = np.lexsort((-t, unique % max(len(target_vocab), 1)))
        for k in by_target[::-1]:
            best_source[int(unique[k] % len(target_vocab))] = int(pair_e[k])
        order = np.lexsort((-t, pair_e))  # by source word, best translation first
        seen = set()
        for k in order:
            source_id = int(pair_e[k])
            if source_id in seen or source_id == 0:
                continue
            seen.add(source_id)
            target_id = int(unique[k] % len(target_vocab))
            if t[k] >= min_probability and best_source[target_id] == source_id:
                self.dictionary[inverse[source_id]] = target_vocab[target_id]

    @classmethod
    def from_dictionary(cls, dictionary: dict[str, str], known: Sequence[str]) -> WordForWord:
        """The baseline saved in a checkpoint's info: its dictionary and the source words it has seen."""
        baseline = cls.__new__(cls)
        baseline.dictionary, baseline.source_vocab = dict(dictionary), set(known)
        return baseline

    def translate(self, sentence: str) -> str:
        out = [self.dictionary.get(w.lower(), "") if w.lower() in self.source_vocab and w[0].isalnum() else w
               for w in words(sentence)]
        out = [w for w in out if w]  # punctuation and unknown words (names, numbers) pass through; weak ones go
        return detokenize(out)


def detokenize(tokens: Sequence[str]) -> str:
    """Words joined by spaces, punctuation attached to the word before it, the first letter upper case."""
    text = re.sub(r" ([.,!?;:%)\]])", r"\1", " ".join(tokens))
    return text[:1].upper() + text[1:]
