"""GLUE's own TSV files, read for the GLUE names from data.args.root."""

from pathlib import Path

import pytest

from zoo.errors import ConfigError
from zoo.nlp import datasets

TRAIN = "sentence\tlabel\nhide new secretions from the parental units \t0\nthe greatest musicians \t1\n"
DEV = "sentence\tlabel\nit 's a charming and often affecting journey . \t1\nunflinchingly bleak \t0\n"
TEST = "index\tsentence\n0\tuneasy mishmash of styles and genres .\n"


def _glue(root: Path) -> Path:
    folder = root / "SST-2"
    folder.mkdir(parents=True)
    for name, text in (("train.tsv", TRAIN), ("dev.tsv", DEV), ("test.tsv", TEST)):
        (folder / name).write_text(text)
    return folder


@pytest.mark.parametrize("where", ["task folder", "glue folder"])
def test_sst2_reads_glue_tsv_from_root(tmp_path: Path, where: str) -> None:
    folder = _glue(tmp_path)
    root = folder if where == "task folder" else tmp_path
    train = datasets.sst2("train", root=str(root))
    val = datasets.sst2("val", root=str(root))
    assert train.texts == ["hide new secretions from the parental units", "the greatest musicians"]
    assert train.labels == [0, 1] and val.labels == [1, 0] and val.classes == ["negative", "positive"]
    with pytest.raises(ConfigError, match="has no labels"):
        datasets.read_glue("sst2", "test", folder)


def test_tsv_files_under_another_name_point_to_text_files(tmp_path: Path) -> None:
    (tmp_path / "train.tsv").write_text("text\tlabel\ngood\t1\n")
    with pytest.raises(ConfigError, match="--dataset text_files data.args.train="):
        datasets.imdb("train", root=str(tmp_path))


def test_a_row_that_is_not_glue_names_its_line(tmp_path: Path) -> None:
    folder = _glue(tmp_path)
    (folder / "train.tsv").write_text(TRAIN + "a row\twith\tthree fields\n")
    with pytest.raises(ConfigError, match="line 4"):
        datasets.sst2("train", root=str(folder))
