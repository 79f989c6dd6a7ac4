import pytest

from zoo import recipes
from zoo.config import RunConfig, apply_overrides, from_dict, load_yaml, parse_override
from zoo.errors import ConfigError, UnknownNameError


def test_overrides_are_typed():
    config = recipes.resolve("vision", overrides=["trainer.epochs=3", "optim.lr=1e-3", "trainer.precision=bf16",
                                                  "optim.betas=[0.8, 0.9]", "data.args.num_train=64"])
    assert config.trainer.epochs == 3 and config.optim.lr == pytest.approx(1e-3)
    assert config.trainer.precision == "bf16" and config.optim.betas == (0.8, 0.9)
    assert config.data.args["num_train"] == 64


def test_unknown_key_names_the_valid_ones():
    with pytest.raises(ConfigError) as error:
        recipes.resolve("vision", overrides=["trainer.epoch=3"])
    message = str(error.value)
    assert "trainer.epoch" in message and "Did you mean 'trainer.epochs'" in message and "trainer.seed" in message


def test_unknown_section_is_rejected():
    with pytest.raises(ConfigError, match="Valid config keys: adapted, data, model, optim"):
        from_dict({"task": "vision", "optimiser": {}})


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("trainer.epochs=many", "trainer.epochs must be an integer"),
        ("optim.lr=fast", "optim.lr must be a number"),
        ("trainer.precision=fp8", "trainer.precision must be one of 'fp32', 'bf16', 'fp16'"),
        ("trainer.progress=maybe", "trainer.progress must be true or false"),
        ("optim.betas=[0.9]", "optim.betas must have 2 items"),
        ("trainer.epochs.x=1", "'epochs' is a value, not a section"),
    ],
)
def test_wrong_types_say_what_is_expected(override, expected):
    with pytest.raises(ConfigError, match=expected.replace("[", r"\[").replace(".", r"\.")):
        recipes.resolve("vision", overrides=[override])


def test_malformed_override():
    with pytest.raises(ConfigError, match="key.sub=value"):
        parse_override("epochs")


def test_unknown_model_or_dataset_in_a_recipe_suggests_names():
    with pytest.raises(UnknownNameError, match="Did you mean 'resnet18'"):
        recipes.resolve("vision", overrides=["model.name=resnet-18"])


def test_model_and_dataset_pick_recipes():
    config = recipes.resolve("vision", model="resnet18")
    assert (config.model.name, config.data.dataset) == ("resnet18", "cifar10")
    assert config.model.args == {"small_input": True}
    config = recipes.resolve("vision", dataset="mnist")
    assert (config.model.name, config.data.dataset) == ("small_cnn", "mnist")
    # no recipe for this pair: the model's recipe with the dataset swapped and its arguments dropped
    config = recipes.resolve("vision", model="vit", dataset="shapes")
    assert (config.model.name, config.data.dataset, config.data.args) == ("vit", "shapes", {})


def test_config_round_trips_through_its_dict():
    config = recipes.resolve("vision", overrides=["trainer.ema.decay=0.99"])
    assert from_dict(config.to_dict()) == config
    assert isinstance(RunConfig().to_dict()["optim"]["betas"], list)


def test_config_file_and_task_must_agree(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("task: vision\nmodel: {name: small_cnn}\ndata: {dataset: shapes}\n")
    assert recipes.resolve(config_file=path).model.name == "small_cnn"
    with pytest.raises(ConfigError, match="does not exist"):
        recipes.resolve(config_file=tmp_path / "missing.yaml")


def test_apply_overrides_creates_sections():
    assert apply_overrides({}, ["model.args.width=4"]) == {"model": {"args": {"width": 4}}}


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("optim.lr=nan", "optim.lr must be a finite number"),
        ("optim.lr=-1", "optim.lr must be >= 0"),
        ("trainer.log_every=0", "trainer.log_every must be >= 1"),
        ("data.batch_size=1000000000000", "data.batch_size must be >= 1 and <= 1048576"),
        ("data.num_workers=-1", "data.num_workers must be >= 0"),
        ("trainer.eval_every=-1", "trainer.eval_every must be >= 0"),
        ("trainer.threads=-3", "trainer.threads must be >= 0"),
        ("trainer.clip_grad_norm=-1", "trainer.clip_grad_norm must be >= 0"),
        ("trainer.keep_checkpoints=0", "trainer.keep_checkpoints must be >= 1"),
        ("data.eval_batch_size=0", "data.eval_batch_size must be >= 1"),
        ("optim.betas=[0.9, 1.5]", r"optim.betas\[1\] must be"),
    ],
)
def test_values_outside_their_range_fail_in_one_line(override, message):
    from zoo import recipes

    with pytest.raises(ConfigError, match=message) as error:
        recipes.resolve("vision", overrides=[override])
    assert "\n" not in str(error.value)


def test_every_ranged_key_is_in_the_schema():
    from zoo.config import RANGES, RunConfig

    known = set()

    def walk(node, prefix):
        for key, value in node.items():
            known.add(prefix + key)
            if isinstance(value, dict):
                walk(value, prefix + key + ".")
            elif isinstance(value, list):
                known.update(f"{prefix}{key}[{i}]" for i in range(len(value)))

    walk(RunConfig().to_dict(), "")
    assert set(RANGES) <= known, set(RANGES) - known


def test_old_keys_name_the_new_one_and_saved_runs_migrate():
    from zoo.config import from_dict, migrate

    with pytest.raises(ConfigError, match="model.args.checkpoint is now model.pretrained"):
        from_dict({"task": "nlp", "model": {"name": "pretrained", "args": {"checkpoint": "x"}}})
    with pytest.raises(ConfigError, match="task_args.pretrained is now model.pretrained"):
        from_dict({"task": "driving", "task_args": {"pretrained": "coco_v1"}})
    config = from_dict(migrate({"task": "driving", "model": {"name": "m"}, "task_args": {"pretrained": "coco_v1"}}))
    assert config.model.pretrained == "coco_v1" and "pretrained" not in config.task_args


def test_a_builder_that_cannot_use_a_value_fails_in_one_line(tmp_path):
    from zoo import api

    with pytest.raises(ConfigError, match="empty layer"):
        api.train("vision", output=tmp_path / "a", overrides=["model.args.width=0"])
    with pytest.raises(ConfigError, match="check the values of data.args"):
        api.train("vision", output=tmp_path / "b", overrides=["data.args.num_train=-5"])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"task: vision\nmodel: {name: [\n", "is not valid YAML at line 3"),
        (b"task: vision\n# caf\xe9\n", r"is not UTF-8 text \(byte 18"),
    ],
)
def test_a_recipe_that_cannot_be_read_fails_in_one_line(tmp_path, content, message):
    path = tmp_path / "recipe.yaml"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=message) as caught:
        load_yaml(path)
    assert "\n" not in str(caught.value)
    with pytest.raises(ConfigError, match="is a directory; give a recipe YAML file"):
        load_yaml(tmp_path)
    path.write_text("model: {name: small_cnn}\n")
    with pytest.raises(ConfigError, match="recipe.yaml names no task: add a line such as 'task: vision', or pass"):
        recipes.resolve(config_file=path)
