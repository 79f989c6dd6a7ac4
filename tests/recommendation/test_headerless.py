"""Delimited interaction files are read with or without a header row."""

from pathlib import Path

import pytest

from zoo.recommendation import generic

ROWS = [(196, 242, 3, 881250949), (186, 302, 3, 891717742), (22, 377, 1, 878887116), (196, 377, 5, 878887200)]


@pytest.mark.parametrize("suffix,sep", [(".tsv", "\t"), (".csv", ","), (".data", "\t")])
def test_a_file_without_a_header_reads_like_one_with_it(tmp_path: Path, suffix: str, sep: str) -> None:
    plain = tmp_path / f"log{suffix}"
    plain.write_text("".join(sep.join(map(str, row)) + "\n" for row in ROWS))
    headed = tmp_path / f"headed{suffix}"
    headed.write_text(sep.join(["user", "item", "rating", "timestamp"]) + "\n" + plain.read_text())
    a = generic.interactions("train", path=str(plain), split_by="leave_last_out")
    b = generic.interactions("train", path=str(headed), split_by="leave_last_out")
    assert len(a.log) == len(b.log) == 4 and a.log.user_map.raw == b.log.user_map.raw == ["22", "186", "196"]
    assert a.log.ratings.tolist() == b.log.ratings.tolist() == [3.0, 3.0, 1.0, 5.0]
    assert a.val_mask.tolist() == b.val_mask.tolist()


def test_implicit_feedback_without_a_header_takes_user_item_timestamp(tmp_path: Path) -> None:
    plain = tmp_path / "clicks.csv"
    plain.write_text("".join(f"{u},{i},{t}\n" for u, i, _, t in ROWS))
    split = generic.interactions("train", path=str(plain), rating_col="")
    assert not split.log.explicit and split.log.timestamps.tolist()[0] == 881250949


def test_a_header_with_other_names_still_names_the_columns(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text("customer,sku\n1,2\n")
    with pytest.raises(Exception, match="no user column 'user'; its columns are customer, sku"):
        generic.interactions("train", path=str(path), rating_col="", timestamp_col="")
