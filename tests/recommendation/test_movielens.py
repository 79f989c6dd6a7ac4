"""MovieLens parsers and the generic file loader, on files written here in the exact upstream formats."""

import zipfile

import numpy as np
import pytest
import torch

from tests.recommendation.files import sample_log, titles, write_ml1m, write_ml100k, write_ml_csv
from zoo.errors import ConfigError, DatasetNotFoundError
from zoo.recommendation import generic, movielens

ROWS, NAMES = sample_log(), titles()


def _check_log(split, rows=ROWS, names=NAMES, ratings=None):
    log = split.log
    assert len(log) == len(rows)
    users = log.user_map.decode(log.users)
    items = log.item_map.decode(log.items)
    assert list(zip(users, items)) == [(str(u), str(i)) for u, i, *_ in rows]
    expected = ratings if ratings is not None else [r for _, _, r, _ in rows]
    assert log.ratings.tolist() == pytest.approx(expected)
    assert log.timestamps.tolist() == [t for *_, t in rows]
    assert [log.titles[log.item_map.index[str(i)]] for i in sorted(names)] == [names[i] for i in sorted(names)]
    return log


def test_ml100k(tmp_path):
    root = write_ml100k(tmp_path / "ml-100k", ROWS, NAMES)
    log = _check_log(movielens.ml100k("train", root=str(root)))
    assert "Café Society (1997)" in log.titles  # latin-1 decoded
    f = log.features
    assert f.user_dense.shape == (log.num_users, 1) and f.user_cardinalities == [2, 3]  # gender, occupation
    assert f.item_bags.shape == (log.num_items, 2) and f.bag_cardinality == 19
    first = log.item_map.index["100"]
    assert sorted(f.item_bags[first].tolist()) == [1, 4]  # the genre flags written for the first movie
    assert f.item_dense.shape == (log.num_items, 1) and torch.isfinite(f.item_dense).all()


def test_ml1m_with_and_without_users(tmp_path):
    root = write_ml1m(tmp_path / "ml-1m", ROWS, NAMES)
    log = _check_log(movielens.ml1m("val", root=str(root)))
    assert "Amélie (2001)" in log.titles and log.features.user_cardinalities == [2, 6, 6]
    genres = log.features.item_bags[log.item_map.index["100"]]
    assert genres.tolist() == [0, 3]  # Action|Drama in the sorted vocabulary Action, Children's, Comedy, Drama, ...
    bare = write_ml1m(tmp_path / "ml-10m-like", ROWS, NAMES, with_users=False)
    assert movielens.ml1m("train", root=str(bare)).log.features.user_sparse.shape[1] == 0


@pytest.mark.parametrize("loader", [movielens.ml_latest_small, movielens.ml25m])
def test_csv_releases(tmp_path, loader):
    root = write_ml_csv(tmp_path / "csv", ROWS, NAMES)
    half_stars = [r - 0.5 if r > 1 else r for _, _, r, _ in ROWS]
    names = {**NAMES, 100: "Toy Story, The (1995)"}
    log = _check_log(loader("train", root=str(root)), names=names, ratings=half_stars)
    bags = log.features.item_bags
    assert (bags[log.item_map.index["102"]] == log.features.bag_cardinality).all()  # "(no genres listed)"
    years = log.features.item_dense[:, 0]
    assert years[log.item_map.index["104"]] > years[log.item_map.index["100"]]  # 2001 after 1995


def test_splits_share_one_id_map_and_partition_the_log(tmp_path):
    root = str(write_ml100k(tmp_path / "ml-100k", ROWS, NAMES))
    train = movielens.ml100k("train", root=root, split_by="leave_last_out")
    val = movielens.ml100k("val", root=root, split_by="leave_last_out")
    assert train.log is val.log and torch.equal(train.val_mask, val.val_mask)
    assert int(train.val_mask.sum()) == len({u for u, *_ in ROWS})  # every sample user has 2+ ratings


def test_missing_files_say_which_where_and_how(tmp_path):
    with pytest.raises(DatasetNotFoundError) as error:
        movielens.ml100k("train", root=str(tmp_path / "nowhere"))
    message = str(error.value)
    assert "u.data, u.item, u.user" in message and "nowhere" in message
    assert "files.grouplens.org/datasets/movielens/ml-100k.zip" in message and "download=true" in message
    with pytest.raises(ConfigError, match="Valid splits: train, val"):
        movielens.ml100k("test", root=str(tmp_path))


def test_a_download_that_leaves_no_files_does_not_advise_downloading(tmp_path, monkeypatch):
    monkeypatch.setattr(movielens, "_download", lambda *args: None)  # fetched, but an archive of something else
    with pytest.raises(DatasetNotFoundError) as error:
        movielens.ml100k("train", root=str(tmp_path / "nowhere"), download=True)
    message = str(error.value)
    assert "data.args.download=true is set, but the download did not leave these files there" in message
    assert "set data.args.download=true to" not in message


def test_download_unpacks_the_release_archive(tmp_path, monkeypatch):
    source = write_ml100k(tmp_path / "upstream" / "ml-100k", ROWS, NAMES)
    archive = tmp_path / "ml-100k.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in source.iterdir():
            zf.write(path, f"ml-100k/{path.name}")
    monkeypatch.setattr(movielens, "URL", archive.resolve().as_uri().replace("ml-100k", "{folder}"))
    root = tmp_path / "data" / "ml-100k"
    _check_log(movielens.ml100k("train", root=str(root), download=True))
    assert sorted(p.name for p in root.iterdir()) == ["u.data", "u.item", "u.user"]


def test_a_changed_file_is_read_again(tmp_path):
    root = write_ml100k(tmp_path / "ml-100k", ROWS, NAMES)
    assert len(movielens.ml100k("train", root=str(root)).log) == len(ROWS)
    write_ml100k(root, ROWS[:-2], NAMES)
    assert len(movielens.ml100k("train", root=str(root)).log) == len(ROWS) - 2


def test_generic_csv_with_custom_columns_and_date_strings(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text("customer,sku,stars,when\nc1,A,5,2024-01-02\nc2,B,3,2024-01-01T12:00:00\nc1,B,4,2024-01-03\n")
    items = tmp_path / "items.csv"
    items.write_text('sku,name\nA,"Lamp, red"\nB,Chair\n')
    split = generic.interactions("train", path=str(path), user_col="customer", item_col="sku", rating_col="stars",
                                 timestamp_col="when", items_path=str(items), title_col="name")
    log = split.log
    assert log.explicit and log.ratings.tolist() == [5.0, 3.0, 4.0]
    assert log.timestamps.tolist() == [1704153600, 1704110400, 1704240000]
    assert log.titles == ["Lamp, red", "Chair"]


def test_generic_parquet_implicit_feedback_and_flags(tmp_path):
    pandas = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    path = tmp_path / "clicks.parquet"
    pandas.DataFrame({"user": [1, 1, 2, 3], "item": [9, 8, 9, 7], "clicked": [1, 0, 1, 1]}).to_parquet(path)
    implicit = generic.interactions("train", path=str(path), rating_col="", timestamp_col="").log
    assert not implicit.explicit and len(implicit) == 4 and implicit.timestamps.tolist() == [0, 1, 2, 3]
    flags = generic.interactions("train", path=str(path), rating_col="clicked", timestamp_col="", min_rating=1).log
    assert len(flags) == 3 and flags.item_map.raw == ["7", "9"]


def test_generic_errors_name_the_fix(tmp_path):
    path = tmp_path / "log.tsv"
    path.write_text("user\titem\n1\t2\n")
    with pytest.raises(ConfigError, match="rating column 'rating'.*columns are user, item.*'' for implicit"):
        generic.interactions("train", path=str(path))
    with pytest.raises(DatasetNotFoundError, match="data.args.path"):
        generic.interactions("train", path=str(tmp_path / "missing.csv"))
    with pytest.raises(ConfigError, match="needs data.args.path"):
        generic.interactions("train")
    log = generic.interactions("train", root=str(tmp_path), path="log.tsv", rating_col="", timestamp_col="").log
    assert np.array_equal(log.users.numpy(), [0])
