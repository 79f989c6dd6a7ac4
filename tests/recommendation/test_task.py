"""The task through the shared trainer, evaluate and predict, on a small generated log (seconds each)."""

import json
import math
import shutil

import pytest
import torch
from safetensors.torch import load_file

from tests.conftest import run_zoo
from tests.recommendation.files import sample_log, titles, write_ml100k
from zoo import api, checkpoint
from zoo.cli import main
from zoo.errors import ConfigError, DatasetNotFoundError, UnknownNameError
from zoo.recommendation.synthetic import generate

SMALL = [
    "data.args.num_users=300", "data.args.num_items=150", "data.args.mean_activity=12",
    "data.batch_size=256", "data.eval_batch_size=128", "trainer.epochs=2", "trainer.progress=false",
    "trainer.tensorboard=false", "trainer.log_every=5",
]


@pytest.fixture(scope="module")
def mf_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("rec") / "mf"
    api.train("recommendation", output=run, overrides=SMALL)
    return run


def test_training_reports_ranking_metrics_and_the_popularity_baseline(mf_run):
    summary = json.loads((mf_run / "summary.json").read_text())
    final = summary["final"]
    assert summary["monitor"] == "val/ndcg@10"
    for name in ("hr@10", "ndcg@10", "recall@10", "mrr", "hr@20", "pop_hr@10", "pop_ndcg@10", "pop_mrr", "loss"):
        assert math.isfinite(final[f"val/{name}"]), name
    assert 0 < final["val/pop_ndcg@10"] <= final["val/pop_hr@10"] <= 1


def test_evaluate_reproduces_training_and_runs_on_the_training_pairs(mf_run):
    summary = json.loads((mf_run / "summary.json").read_text())
    best = {k: v for k, v in summary["best"].items() if k.startswith("val/")}
    assert api.evaluate(mf_run / "checkpoints" / "best") == pytest.approx(best, abs=1e-6)
    train = api.evaluate(mf_run / "checkpoints" / "best", split="train")
    assert math.isfinite(train["train/loss"]) and math.isnan(train["train/ndcg@10"])


def test_evaluate_refuses_other_data_than_the_checkpoints(mf_run):
    with pytest.raises(ConfigError, match="other users or items"):
        api.evaluate(mf_run / "checkpoints" / "best", overrides=["data.args.num_users=250"])


def test_predict_excludes_seen_items_and_shows_titles(mf_run):
    log = generate(num_users=300, num_items=150, mean_activity=12)
    meta = checkpoint.read_meta(mf_run / "checkpoints" / "best")
    assert meta["info"]["user_ids"][:3] == ["1", "2", "3"] and meta["info"]["titles"][0].startswith("Item 1 (")
    [prediction] = api.predict(mf_run, user="17", k=15)
    user = log.user_map.index["17"]
    everything = set(log.item_map.decode(log.items[log.users == user]))
    held_out = 1  # leave-last-out: one interaction of user 17 is in validation, not among the seen items
    assert prediction["user"] == "17" and prediction["seen"] == len(log.items[log.users == user]) - held_out
    top = [entry["item"] for entry in prediction["top"]]
    assert len(top) == 15 and len(everything & set(top)) <= held_out
    assert all(entry["title"].startswith(f"Item {entry['item']} (") for entry in prediction["top"])
    scores = [entry["score"] for entry in prediction["top"]]
    assert scores == sorted(scores, reverse=True)
    [with_seen] = api.predict(mf_run, ["17"], include_seen=True, k=150)
    assert everything <= {entry["item"] for entry in with_seen["top"]}


def test_predict_similar_items_and_errors(mf_run):
    [similar] = api.predict(mf_run, item=5, k=4)
    assert similar["item"] == "5" and len(similar["similar"]) == 4
    assert "5" not in [entry["item"] for entry in similar["similar"]]
    with pytest.raises(UnknownNameError, match="Did you mean 'user'"):
        api.predict(mf_run, usr="17")
    with pytest.raises(ConfigError, match="unknown user '9999'"):
        api.predict(mf_run, user="9999")
    with pytest.raises(ConfigError, match="--user USER_ID"):
        api.predict(mf_run)


def test_predict_on_the_command_line(mf_run, capsys):
    out = run_zoo("predict", "--checkpoint", str(mf_run), "--user", "17", "--k", "3").stdout
    lines = out.splitlines()
    assert lines[0].startswith("user 17 (") and len(lines) == 4 and lines[1].lstrip().startswith("1. ")
    assert main(["predict", "--checkpoint", str(mf_run), "17", "18", "--item", "5", "--k", "2", "--json"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r.get("user", r.get("item")) for r in records] == ["17", "18", "5"] and len(records[2]["similar"]) == 2
    assert main(["predict", "--checkpoint", str(mf_run), "--help"]) == 0
    listed = capsys.readouterr().out
    assert "--user USER" in listed and "--include-seen" in listed
    with pytest.raises(SystemExit) as exit_:
        main(["predict", "--checkpoint", str(mf_run), "--usr", "17"])
    assert exit_.value.code == 2 and "--usr" in capsys.readouterr().err
    assert main(["predict", "--checkpoint", str(mf_run), "--user", "0"]) == 2
    assert "error: unknown user '0'" in capsys.readouterr().err


def test_resume_mid_epoch_samples_the_same_negatives(tmp_path):
    overrides = [*SMALL, "scheduler.name=constant", "trainer.checkpoint_every=3"]
    reference = api.train("recommendation", output=tmp_path / "ref", overrides=[*overrides, "trainer.max_steps=7"])
    api.train("recommendation", output=tmp_path / "resumed", overrides=[*overrides, "trainer.max_steps=4"])
    api.train("recommendation", output=tmp_path / "resumed", overrides=["trainer.max_steps=7"], resume=True)
    expected = load_file(str(reference.run_dir / "checkpoints" / "last" / checkpoint.MODEL_FILE))
    actual = load_file(str(tmp_path / "resumed" / "checkpoints" / "last" / checkpoint.MODEL_FILE))
    assert all(torch.equal(expected[k], actual[k]) for k in expected)


def test_rating_objective_on_movielens_files_and_a_self_contained_checkpoint(tmp_path):
    root = write_ml100k(tmp_path / "ml-100k", sample_log(40, 25), titles(25))
    run = tmp_path / "run"
    api.train("recommendation", model="mf_rating", dataset="ml100k", output=run,
              overrides=[f"data.args.root={root}", "trainer.epochs=2", "trainer.progress=false",
                         "trainer.tensorboard=false", "data.batch_size=16"])
    summary = json.loads((run / "summary.json").read_text())
    assert summary["monitor"] == "val/rmse" and 0 < summary["final"]["val/rmse"] < 5
    assert summary["final"]["val/mae"] <= summary["final"]["val/rmse"]
    shutil.rmtree(root)
    [prediction] = api.predict(run, user="10", k=3)  # the checkpoint alone: ids, titles and seen items
    assert len(prediction["top"]) == 3 and all(entry["title"] for entry in prediction["top"])
    with pytest.raises(DatasetNotFoundError, match="u.data"):
        api.evaluate(run)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["model.name=mf", "task_args.loss=softmax"], "towers"),
        (["task_args.objective=rating"], "--problem rating"),
        (["task_args.loss=bpr", "task_args.num_negatives=0"], "num_negatives"),
        (["task_args.negative_sampling=hardest"], "uniform"),
        (["data.args.split_by=per_user"], "leave_last_out"),
    ],
)
def test_configuration_errors_name_the_fix(tmp_path, overrides, message):
    with pytest.raises(ConfigError, match=message):
        api.train("recommendation", output=tmp_path / "run", overrides=[*SMALL, *overrides])


def test_ratings_are_required_for_the_rating_objective(tmp_path):
    path = tmp_path / "clicks.csv"
    path.write_text("user,item\n1,2\n1,3\n2,3\n2,4\n")
    with pytest.raises(ConfigError, match="--problem ranking"):
        api.train("recommendation", problem="rating", dataset="interactions", output=tmp_path / "run",
                  overrides=[f"data.args.path={path}", "data.args.rating_col=", "data.args.timestamp_col=",
                             "task_args.loss="])


def test_rating_prediction_is_a_problem_of_its_own(tmp_path):
    with pytest.raises(ConfigError, match="does ranking, not rating"):
        api.train("recommendation", problem="rating", model="mf", output=tmp_path / "run")


def test_published_checkpoint_loads_from_the_catalog(mf_run, tmp_path, monkeypatch):
    import zoo
    from zoo.hub import catalog
    from zoo.publish import publish

    monkeypatch.setenv("ZOO_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(catalog, "_extra", [])
    published = publish(mf_run / "checkpoints" / "best", "recommendation/mf.small", tmp_path / "site")
    monkeypatch.setenv("ZOO_CATALOG", str(published.catalog))
    model = zoo.build_model("recommendation", "mf", pretrained="small")
    trained = api.load(mf_run).model
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), trained.state_dict().values()))
    assert model.tables.seen_items.numel() == checkpoint.read_meta(mf_run / "checkpoints" / "best")["info"]["num_train"]
