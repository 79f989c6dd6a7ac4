"""The commands as a user types them: train, evaluate, predict, list, and their errors."""

import json

import pytest
from PIL import Image

from tests.conftest import TINY_VISION, run_zoo


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("cli") / "run"
    result = run_zoo("train", "--task", "vision", "--output", str(run), *TINY_VISION)
    assert f"run: {run}" in result.stdout
    return run


def test_train_prints_where_the_run_lives(trained_run):
    assert (trained_run / "summary.json").is_file() and (trained_run / "checkpoints" / "best").exists()


def test_evaluate_reproduces_the_validation_metrics_of_training(trained_run):
    summary = json.loads((trained_run / "summary.json").read_text())
    result = run_zoo("evaluate", "--checkpoint", str(trained_run / "checkpoints" / "best"), "--json")
    metrics = json.loads(result.stdout)
    best = {k: v for k, v in summary["best"].items() if k.startswith("val/")}
    assert metrics.keys() == best.keys()
    assert metrics == pytest.approx(best, abs=1e-6)


def test_evaluate_accepts_a_run_directory_and_other_splits(trained_run):
    for split in ("train", "test"):
        metrics = json.loads(run_zoo("evaluate", "--checkpoint", str(trained_run), "--split", split, "--json",
                                     "--no-report").stdout)
        assert 0 <= metrics[f"{split}/top1"] <= 1
    result = run_zoo("evaluate", "--checkpoint", str(trained_run), "--split", "holdout", check=False)
    assert result.returncode != 0
    assert "unknown split 'holdout'" in result.stderr and "train, val, test" in result.stderr
    assert "Traceback" not in result.stderr


def test_predict_prints_top_labels_for_image_files(trained_run, tmp_path):
    paths = []
    for i, mode in enumerate(["RGB", "L", "RGBA"]):
        path = tmp_path / f"image{i}.png"
        Image.new(mode, (40 + i, 32), color=128 if mode == "L" else (200, 30, 30, 255)[: len(mode)]).save(path)
        paths.append(str(path))
    result = run_zoo("predict", "--checkpoint", str(trained_run), "--json", *paths)
    predictions = [json.loads(line) for line in result.stdout.splitlines()]
    assert [p["input"] for p in predictions] == paths
    meta = json.loads((trained_run / "checkpoints" / "best" / "meta.json").read_text())
    for prediction in predictions:
        assert len(prediction["top"]) == 5
        assert all(t["label"] in meta["info"]["classes"] for t in prediction["top"])
        assert sum(t["prob"] for t in prediction["top"]) <= 1.0001
    plain = run_zoo("predict", "--checkpoint", str(trained_run), paths[0]).stdout
    assert plain.startswith(paths[0] + ": ")


def test_resume_of_a_finished_run_changes_nothing(trained_run):
    before = (trained_run / "checkpoints" / "last" / "model.safetensors").read_bytes()
    run_zoo("train", "--output", str(trained_run), "--resume")
    assert (trained_run / "checkpoints" / "last" / "model.safetensors").read_bytes() == before


def test_list_prints_every_task_model_and_dataset():
    out = run_zoo("list").stdout
    for name in ["vision", "small_cnn", "resnet50", "vit", "shapes", "cifar100", "fashion_mnist", "image_folder"]:
        assert name in out
    listing = json.loads(run_zoo("list", "vision", "--json").stdout)
    assert listing[0]["name"] == "vision" and listing[0]["models"][0]["params"] > 0


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["train", "--task", "visoin"], "Did you mean 'vision'"),
        (["train", "--task", "vision", "--model", "resnet-18"], "Did you mean 'resnet18'"),
        (["train", "--task", "vision", "trainer.epoch=1"], "Did you mean 'trainer.epochs'"),
        (["train", "--task", "vision", "model.args.widht=8"], "Did you mean 'width'"),
        (["train", "--task", "vision", "--dataset", "cifar10", "data.args.root=/nonexistent"], "download"),
        (["evaluate", "--checkpoint", "/nonexistent/run"], "does not exist"),
        (["predict", "--checkpoint", "/nonexistent/run", "x.png"], "does not exist"),
        (["list", "speach"], "unknown task"),
        (["train", "--task", "vision", "trainer.epochs=0"], "set trainer.epochs or trainer.max_steps"),
        (["train", "--task", "vision", "--output", "/proc/zoo-run"], "/proc/zoo-run (check the path"),
        (["plot", "/nonexistent/run"], "not a run directory"),
    ],
)
def test_errors_are_one_clear_line(args, expected):
    result = run_zoo(*args, check=False)
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ")


def test_debug_shows_the_traceback():
    for args in (["--debug", "list", "speach"], ["list", "speach", "--debug"]):
        result = run_zoo(*args, check=False)
        assert result.returncode != 0 and "Traceback" in result.stderr, args
    import subprocess
    import sys

    from tests.conftest import REPO

    train = subprocess.run([sys.executable, "-m", "zoo.train", "--debug", "--task", "visoin"], capture_output=True,
                           text=True, timeout=300, cwd=REPO)
    assert "UnknownNameError" in train.stderr and "Traceback" in train.stderr


def test_console_script_and_module_entry_points_agree():
    import shutil
    import subprocess

    zoo = shutil.which("zoo") or str(__import__("pathlib").Path(__import__("sys").executable).parent / "zoo")
    if not __import__("os").path.exists(zoo):
        pytest.skip("the zoo console script is not installed (pip install -e .)")
    assert subprocess.run([zoo, "list"], capture_output=True, text=True).stdout == run_zoo("list").stdout


def test_predict_inputs_that_are_not_utf8_fail_in_one_line(tmp_path, monkeypatch):
    import io
    import sys

    from zoo import cli
    from zoo.errors import ConfigError

    path = tmp_path / "inputs.txt"
    path.write_bytes(b"196\n\xff\xfe 242\n")
    with pytest.raises(ConfigError, match="inputs.txt is not UTF-8 text"):
        cli._lines(str(path))
    with pytest.raises(ConfigError, match="is a directory"):
        cli._lines(str(tmp_path))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"caf\xe9\n"), encoding="utf-8"))
    with pytest.raises(ConfigError, match="standard input is not UTF-8 text"):
        cli._lines("-")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO("café\n\n 7 \n".encode()), encoding="utf-8"))
    assert cli._lines("-") == ["café", " 7 "]


def test_evaluate_where_the_report_cannot_be_written_still_gives_the_metrics(trained_run, tmp_path, monkeypatch,
                                                                            capsys):
    pytest.importorskip("matplotlib")
    from zoo import api

    blocker = tmp_path / "read-only"
    blocker.write_text("")  # a file where the reports folder should go: no directory can be made under it
    monkeypatch.setattr(api, "report_dir", lambda *args: blocker / "reports")
    metrics, figures = api.evaluate_with_report(trained_run, report=True)
    assert 0 <= metrics["val/top1"] <= 1 and figures == []
    err = capsys.readouterr().err
    assert "figures not written: " in err and "--no-report" in err


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["train", "--task", "vision", "--model", "resnet-18"], "Did you mean 'resnet18'"),
        (["train", "--task", "visoin"], "Did you mean 'vision'"),
        (["train", "--task", "vision", "trainer.epoch=1"], "Did you mean 'trainer.epochs'"),
        (["train", "--task", "vision", "--output", "{file}"], "is a file, not a directory"),
        (["train", "--task", "vision", "--output", "{file}/run"], "is a file, not a directory"),
        (["evaluate", "--checkpoint", "/nonexistent/run"], "does not exist"),
        (["predict", "--checkpoint", "/nonexistent/run", "x.png"], "does not exist"),
        (["samples", "--task", "visoin"], "Did you mean 'vision'"),
        (["evaluate", "--checkpoint", "{run}", "--dataset", "mnsit"], "Did you mean 'mnist'"),
    ],
)
def test_bad_names_and_paths_fail_before_torch_is_imported(trained_run, tmp_path, args, expected):
    import subprocess
    import sys

    from tests.conftest import REPO

    afile = tmp_path / "afile"
    afile.write_text("")
    args = [a.replace("{file}", str(afile)).replace("{run}", str(trained_run)) for a in args]
    code = ("import sys; from zoo.cli import main; code = main(sys.argv[1:]); "
            "print('torch imported' if 'torch' in sys.modules else 'no torch'); sys.exit(code)")
    result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300,
                            cwd=REPO)
    assert result.returncode == 2 and expected in result.stderr, result.stderr
    assert result.stdout.strip() == "no torch"


def test_a_checkpoint_of_another_version_names_it_instead_of_a_typo(trained_run, tmp_path):
    import shutil

    from zoo import api
    from zoo.errors import CheckpointError

    copy = tmp_path / "best"
    shutil.copytree(trained_run / "checkpoints" / "best", copy)
    meta = json.loads((copy / "meta.json").read_text())
    meta["zoo_version"] = "9.0.0"
    meta["config"]["trainer"]["warp_speed"] = 2
    (copy / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match=r"unknown config key 'trainer.warp_speed'.*written by zoo 9\.0\.0 "
                                              r"\(this is zoo .*load it with that version") as caught:
        api.load(copy)
    assert "Did you mean" not in str(caught.value)


def test_a_file_where_a_directory_must_go_is_named(tmp_path):
    import errno

    from zoo import cli

    afile = tmp_path / "afile"
    afile.write_text("")
    for error in (NotADirectoryError(errno.ENOTDIR, "Not a directory", str(afile / "x")),
                  FileExistsError(errno.EEXIST, "File exists", str(afile))):
        assert cli._os_error(error).startswith(f"{afile} is a file where a directory is needed")
    missing = FileNotFoundError(errno.ENOENT, "No such file or directory", str(tmp_path / "gone"))
    assert cli._os_error(missing) == f"No such file or directory: {tmp_path / 'gone'} (check the path and its " \
                                     "permissions; --debug for details)"
