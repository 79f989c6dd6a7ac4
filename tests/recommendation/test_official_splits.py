"""ml-100k's own split files (u1.base/u1.test ... ua, ub): trained and evaluated on exactly their rows."""

from pathlib import Path

import pytest
import torch

from zoo import recipes
from zoo.errors import ConfigError, DatasetNotFoundError
from zoo.recommendation import movielens
from zoo.task import load_task
from tests.recommendation.files import sample_log, titles, write_ml100k


def _write(folder: Path) -> tuple[list, list]:
    rows = sample_log(num_users=8)
    write_ml100k(folder, rows, titles())
    test = [row for k, row in enumerate(rows) if k % 4 == 1]
    base = [row for row in rows if row not in test]
    for name, part in (("u1.base", base), ("u1.test", test)):
        (folder / name).write_text("".join(f"{u}\t{i}\t{int(r)}\t{t}\n" for u, i, r, t in part))
    return base, test


def _pairs(users, items, info) -> set[tuple[int, int]]:
    return {(int(info["user_ids"][u]), int(info["item_ids"][i])) for u, i in zip(users.tolist(), items.tolist())}


def test_u1_trains_on_u1_base_and_evaluates_on_u1_test(tmp_path: Path) -> None:
    base, test = _write(tmp_path)
    config = recipes.resolve("recommendation", problem="rating", dataset="ml100k", overrides=[
        f"data.args.root={tmp_path}", "data.args.split_by=u1"])
    data = load_task(config).build_data(["train", "val"])
    train = data.train
    assert _pairs(train.users, train.items, data.info) == {(u, i) for u, i, _, _ in base}
    assert len(train) == len(base) == data.info["num_train"]
    val = data.val
    held = {(int(data.info["user_ids"][int(val.users[k])]), int(data.info["item_ids"][int(i)]))
            for k in range(len(val)) for i in val.items[int(val.starts[k]):int(val.starts[k + 1])]}
    assert held == {(u, i) for u, i, _, _ in test} and len(val.items) == len(test)


def test_split_files_that_do_not_split_u_data_are_refused(tmp_path: Path) -> None:
    base, test = _write(tmp_path)
    (tmp_path / "u1.base").write_text("".join(f"{u}\t{i}\t{int(r)}\t{t}\n" for u, i, r, t in base[1:]))
    with pytest.raises(ConfigError, match="do not split u.data"):
        movielens.ml100k("train", root=str(tmp_path), split_by="u1")
    with pytest.raises(DatasetNotFoundError, match="u2.base"):
        movielens.ml100k("train", root=str(tmp_path), split_by="u2")
    with pytest.raises(ConfigError, match="ua, ub"):
        movielens.ml100k("train", root=str(tmp_path), split_by="u9")


def test_the_mask_holds_exactly_the_test_rows(tmp_path: Path) -> None:
    base, test = _write(tmp_path)
    split = movielens.ml100k("val", root=str(tmp_path), split_by="u1")
    assert int(split.val_mask.sum()) == len(test) and len(split.val_mask) == len(base) + len(test)
    assert split.val_mask.dtype == torch.bool
