"""Tokenizers trained from scratch: special tokens, truncation, a JSON round trip, and the same vocabulary every run."""

import subprocess
import sys

import pytest

from tests.nlp.conftest import REVIEWS
from zoo.errors import CheckpointError, ConfigError
from zoo.nlp import corpus, tokenization

TEXTS = corpus.split_texts("train", 2000, 100, 0)[0]


@pytest.mark.parametrize("kind", ["wordpiece", "bpe"])
def test_trained_tokenizer_wraps_truncates_and_round_trips(kind):
    encoder = tokenization.trained_encoder(TEXTS, 1000, 12, kind, lowercase=True, min_frequency=2)
    vocab = encoder.tokenizer.get_vocab()
    assert [vocab[t] for t in tokenization.SPECIAL_TOKENS] == [0, 1, 2, 3, 4] and encoder.pad_token_id == 0
    assert len(vocab) <= 1000
    short, long = encoder.encode(["The plot was great.", TEXTS[0] + " " + TEXTS[1]])
    assert short[0] == vocab["[CLS]"] and short[-1] == vocab["[SEP]"] and len(long) == 12
    assert vocab["[UNK]"] not in short
    restored = tokenization.TextEncoder.from_json(encoder.to_json(), 12, 0)
    texts = [text for text, _ in REVIEWS]
    assert restored.encode(texts) == encoder.encode(texts)


def test_lowercase_is_an_option():
    lower = tokenization.trained_encoder(TEXTS, 1000, 32, "wordpiece", lowercase=True, min_frequency=2)
    cased = tokenization.trained_encoder(TEXTS, 1000, 32, "wordpiece", lowercase=False, min_frequency=2)
    assert lower.encode(["The PLOT"]) == lower.encode(["the plot"])
    assert cased.encode(["The PLOT"]) != cased.encode(["the plot"])


def test_training_gives_the_same_vocabulary_in_every_process():
    code = (
        "import hashlib\n"
        "from zoo.nlp import corpus, tokenization\n"
        "texts = corpus.split_texts('train', 2000, 100, 0)[0]\n"
        "for kind in ('wordpiece', 'bpe'):\n"
        "    t = tokenization.train_tokenizer(texts, 1000, kind)\n"
        "    print(hashlib.sha1(t.to_str().encode()).hexdigest())\n"
    )
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
            for _ in range(2)]
    assert runs[0] == runs[1] and len(runs[0].split()) == 2


def test_vocab_size_too_small_for_the_alphabet():
    with pytest.raises(ConfigError, match="raise task_args.vocab_size"):
        tokenization.train_tokenizer(TEXTS, 40, "wordpiece")
    with pytest.raises(ConfigError, match="special tokens"):
        tokenization.train_tokenizer(TEXTS, 5, "bpe")


def test_pretrained_tokenizer_from_a_local_directory(local_bert, no_network):
    encoder = tokenization.pretrained_encoder(str(local_bert), max_length=512, model_limit=64)
    assert encoder.max_length == 48  # the tokenizer's own model_max_length is the tightest limit
    ids = encoder.encode(["The battery easily lasts two days."])[0]
    tokens = [encoder.tokenizer.id_to_token(i) for i in ids]
    assert tokens[0] == "[CLS]" and tokens[-1] == "[SEP]" and "battery" in tokens


def test_unreachable_pretrained_tokenizer_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    with pytest.raises(CheckpointError, match="--local-dir DIR"):
        tokenization.pretrained_encoder("zoo-tests/no-such-model", 128)
    with pytest.raises(CheckpointError, match="cannot read the tokenizer in"):
        tokenization.pretrained_encoder(str(tmp_path), 128)
