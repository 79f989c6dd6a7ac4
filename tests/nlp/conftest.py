"""NLP test helpers: a few seconds' recipe, real review sentences, a local "pretrained" BERT, a datasets cache."""

from __future__ import annotations

import csv
import socket
from pathlib import Path

import pytest

# The default recipe shrunk to seconds: 600 generated reviews, BERT-Tiny with 32-token texts.
TINY_NLP = [
    "data.args.num_train=600",
    "data.args.num_val=100",
    "data.batch_size=32",
    "data.eval_batch_size=100",
    "task_args.max_length=32",
    "trainer.epochs=1",
    "trainer.progress=false",
    "trainer.log_every=5",
    "trainer.tensorboard=false",
]

# Real English review sentences (written for these tests), labelled as a user's CSV would be.
REVIEWS = [
    ("A warm, funny film with a cast that clearly enjoyed every scene.", "pos"),
    ("The battery easily lasts two days and the screen is bright.", "pos"),
    ("Our waiter was attentive and the soup was the best I have had in years.", "pos"),
    ("I could not put the book down; the last chapter is perfect.", "pos"),
    ("Clean rooms, a friendly front desk and a quiet street.", "pos"),
    ("The sound is rich and the headphones stay comfortable all day.", "pos"),
    ("It starts slowly, but the second half is gripping and beautifully shot.", "pos"),
    ("Delivery was fast and the keyboard feels solid.", "pos"),
    ("A thoughtful script and two wonderful lead performances.", "pos"),
    ("The pasta was fresh and the prices were fair.", "pos"),
    ("Setup took five minutes and it has worked flawlessly since.", "pos"),
    ("I laughed out loud several times; highly recommended.", "pos"),
    ("The plot makes no sense and the jokes fall flat.", "neg"),
    ("It stopped charging after a week and support never answered.", "neg"),
    ("Cold food, a rude manager and a forty minute wait.", "neg"),
    ("The characters are thin and the ending is lazy.", "neg"),
    ("Our room smelled of smoke and the shower was broken.", "neg"),
    ("The strap snapped on the first day.", "neg"),
    ("Two hours of noise with nothing to say.", "neg"),
    ("The app crashes constantly and drains the battery.", "neg"),
    ("Bland dialogue and a villain you forget the moment he leaves.", "neg"),
    ("The portions were tiny and the bill was huge.", "neg"),
    ("I returned it because the screen flickered.", "neg"),
    ("Not worth the ticket, even at matinee prices.", "neg"),
]


def write_reviews_csv(path: Path, rows: list[tuple[str, str]] = REVIEWS) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["review", "sentiment"])
        writer.writerows(rows)
    return path


@pytest.fixture
def tiny_nlp() -> list[str]:
    return list(TINY_NLP)


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open an internet connection fails the test (local sockets stay allowed)."""
    connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            raise AssertionError(f"network access attempted: {address}")
        connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(scope="session")
def local_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny BERT saved as a pretrained checkpoint would be: masked-LM weights, config and a fast tokenizer.

    Its tokenizer is a WordPiece trained with ``tokenizers`` and saved as a ``BertTokenizerFast``; its weights are
    random, since no real checkpoint can be downloaded here.
    """
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertForMaskedLM, BertTokenizerFast

    folder = tmp_path_factory.mktemp("local-bert")
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.train_from_iterator([text for text, _ in REVIEWS] * 3, trainers.WordPieceTrainer(
        vocab_size=400, special_tokens=special))
    tokenizer.post_processor = processors.BertProcessing(
        ("[SEP]", tokenizer.token_to_id("[SEP]")), ("[CLS]", tokenizer.token_to_id("[CLS]"))
    )
    fast = BertTokenizerFast(tokenizer_object=tokenizer, model_max_length=48, unk_token="[UNK]",
                             pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")
    fast.save_pretrained(folder)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(fast), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64)
    BertForMaskedLM(config).save_pretrained(folder)
    return folder


def build_hub_cache(
    cache: Path, repo: str, config: str, splits: dict[str, dict[str, list]], features: object
) -> None:
    """Write ``repo`` into a ``datasets`` cache as ``load_dataset(repo, config)`` leaves it after a download.

    The splits are written as the hub's Parquet files (with their ``datasets`` features) and prepared by the Parquet
    builder, as on a download, into ``<namespace>___<name>/<config>/0.0.0/<hash>/``.
    """
    import datasets
    from datasets.packaged_modules.parquet.parquet import Parquet

    namespace, name = repo.split("/")
    files = {}
    for split, columns in splits.items():
        path = cache.parent / "hub-files" / repo / config / f"{split}-00000-of-00001.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        datasets.Dataset.from_dict(columns, features=features).to_parquet(str(path))
        files[split] = [str(path)]
    builder = Parquet(cache_dir=str(cache), dataset_name=name, config_name=config, config_id=config,
                      hash="0123456789abcdef", data_files=files)
    builder.download_and_prepare()
    (cache / name).rename(cache / f"{namespace}___{name}")
