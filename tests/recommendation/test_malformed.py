"""Malformed lines of MovieLens and interactions files: counted, skipped when few, the file refused when many."""

import pytest

from tests.recommendation.files import sample_log, titles, write_ml100k, write_ml1m
from zoo.errors import ConfigError
from zoo.recommendation import generic, movielens, rows

NAMES = titles()


def _ml100k(folder, bad_lines, good=400):
    rows_ = [(10 + u % 40, 100 + 2 * (u % 5), float(1 + u % 5), 880_000_000 + u) for u in range(good)]
    write_ml100k(folder, rows_, NAMES)
    lines = (folder / "u.data").read_text().splitlines()
    for position, line in bad_lines:
        lines.insert(position, line)
    (folder / "u.data").write_text("\n".join(lines) + "\n")
    movielens._read.cache_clear()
    return rows_


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("12,7,4,881250949", "no item"),  # a comma-separated line in a tab-separated release
        ("12\t7", "no rating"),
        ("12\t102\tnan\t881250949", "rating 'nan' is not a finite number"),
        ("12\t102\t1e30\t881250949", "rating 1e30 is outside 0.5..5"),
        ("abc\t102\t3\t881250949", "user 'abc' is not an integer id"),
        ("12\t102\t3\t881250949\t7\t8", "6 fields where 4 were expected"),
    ],
)
def test_a_few_malformed_lines_are_skipped_and_reported(tmp_path, line, reason):
    good = _ml100k(tmp_path, [(3, line)])
    log = movielens.ml100k("train", root=str(tmp_path)).log
    assert len(log) == len(good)
    assert log.skipped == {"malformed lines of u.data": ["u.data:4"]}
    _ml100k(tmp_path, [(3, line)] * 10, good=20)
    with pytest.raises(ConfigError, match=f"u.data: 10 of 30 lines are malformed.*line 4: {reason}"):
        movielens.ml100k("train", root=str(tmp_path))


def test_a_file_mostly_malformed_is_refused_naming_the_first_bad_line(tmp_path):
    write_ml1m(tmp_path, sample_log(), NAMES)
    text = (tmp_path / "ratings.dat").read_text()
    (tmp_path / "ratings.dat").write_text(text.replace("::", ",", 3 * 3))  # the first 3 lines comma-separated
    movielens._read.cache_clear()
    with pytest.raises(ConfigError, match=r"ratings.dat: 3 of \d+ lines are malformed \(more than 1%\); the first "
                                          r"is line 1: no item") as caught:
        movielens.ml1m("train", root=str(tmp_path))
    assert "\n" not in str(caught.value)


def test_interactions_files_count_their_bad_lines_and_keep_text_ids(tmp_path):
    path = tmp_path / "events.csv"
    good = [f"c{u % 30},sku{u % 7},{1 + u % 5},2024-01-0{1 + u % 9}" for u in range(200)]
    path.write_text("user,item,rating,timestamp\n" + "\n".join([*good[:50], "c1,,3,2024-01-01", *good[50:]]) + "\n")
    log = generic.interactions("train", path=str(path)).log
    assert len(log) == 200 and log.user_map.raw[0] == "c0"
    assert log.skipped == {"malformed lines of events.csv": ["events.csv:52"]}
    path.write_text("user,item,rating,timestamp\n1,2,oops,5\n1,3,4,not a date\n")
    generic._read.cache_clear()
    with pytest.raises(ConfigError, match="events.csv: 2 of 2 lines are malformed.*line 2: rating 'oops'"):
        generic.interactions("train", path=str(path))
    path.write_bytes(b"user,item\n1,caf\xe9\n")
    generic._read.cache_clear()
    with pytest.raises(ConfigError, match="events.csv is not UTF-8"):
        generic.interactions("train", path=str(path), rating_col="", timestamp_col="")


def test_the_threshold_is_a_small_fraction():
    assert 0 < rows.MAX_BAD_FRACTION <= 0.01


def test_the_run_reports_the_lines_it_skipped(tmp_path):
    from zoo import recipes
    from zoo.fit import _skipped
    from zoo.task import load_task

    _ml100k(tmp_path, [(3, "12\t102\tnan\t881250949")])
    config = recipes.resolve("recommendation", problem="rating", dataset="ml100k",
                             overrides=[f"data.args.root={tmp_path}"])
    skipped = _skipped(load_task(config).build_data(["train", "val"]))
    assert skipped["counts"] == {"malformed lines of u.data": 1}
    assert "u.data:4" in skipped["text"]
