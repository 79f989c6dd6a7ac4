"""Listings print as aligned tables in a terminal and as HTML in a notebook, and stay plain lists."""

import zoo
from zoo.table import Table, format_table, human


def test_model_listing_is_a_list_of_entries_that_prints_as_a_table():
    models = zoo.list_models("vision")
    assert isinstance(models, list) and models[0].name == "small_cnn"
    lines = repr(models).splitlines()
    assert lines[0].split() == ["task", "problem", "model", "params", "input", "dataset", "licence"]
    assert set(lines[1]) <= {"-", " "}
    assert len(lines) == 2 + len(models)
    assert any(line.startswith("vision") and "resnet18" in line and "11.2M" in line for line in lines)
    assert isinstance(models[:2], Table) and len(models[:2]) == 2


def test_html_rendering_escapes_cells():
    table = Table([{"name": "<b>x</b>", "n": 3}], [("name", lambda r: r["name"]), ("n", lambda r: r["n"])])
    html = table._repr_html_()
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x" not in html
    assert html.count("<tr>") == 2


def test_datasets_and_checkpoints_render_too():
    assert "embedded" in repr(zoo.list_datasets("vision")).splitlines()[0]
    checkpoints = zoo.list_checkpoints("vision")
    assert "vision/resnet18.imagenet1k_v1" in repr(checkpoints)
    assert "<table>" in checkpoints._repr_html_()


def test_format_table_aligns_columns_and_human_counts():
    text = format_table(["a", "long header"], [["wide cell", 1], ["x", None]])
    rows = text.splitlines()
    assert rows[0].index("long header") == rows[2].index("1") == rows[3].index("-")
    assert [human(n) for n in (999, 1_500, 2_340_000, 7e9)] == ["999", "1.5K", "2.3M", "7.0B"]
