import pytest

from zoo import recipes
from zoo.config import RunConfig, apply_overrides, from_dict, parse_override
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
    with pytest.raises(ConfigError, match="Valid config keys: data, model, optim"):
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
