"""The README's commands and model table match what the code offers."""

import re
import shlex
import subprocess
import sys

import pytest

from tests.conftest import REPO
from zoo import recipes

README = (REPO / "README.md").read_text()
TRAIN_COMMANDS = sorted({line.split("#")[0].strip() for line in README.splitlines()
                         if re.match(r"\s*(torchrun .*)?python -m zoo.train ", line.strip()) or
                         "-m zoo.train " in line})


def test_the_set_up_block_comes_first():
    first = README.split("```")[1].splitlines()
    assert first[1:4] == ['pip install -e ".[test]"', "pytest", "python -m zoo.train --task vision"]


@pytest.mark.parametrize("command", TRAIN_COMMANDS)
def test_every_training_command_in_the_readme_resolves_to_a_recipe(command):
    words = shlex.split(command[command.index("-m zoo.train") + len("-m zoo.train"):])
    options = {}
    overrides = []
    i = 0
    while i < len(words):
        if words[i].startswith("--"):
            name = words[i][2:]
            if name in ("resume",):
                i += 1
                continue
            options[name] = words[i + 1]
            i += 2
        else:
            overrides.append(words[i])
            i += 1
    if "config" in options:
        pytest.skip("a recipe file of the user's own")
    recipes.resolve(options.get("task"), options.get("model"), options.get("dataset"), None, overrides)


def test_readme_model_table_is_up_to_date():
    result = subprocess.run([sys.executable, "scripts/model_table.py", "--check"], cwd=REPO, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_linked_docs_exist():
    for link in re.findall(r"\]\(((?:docs|examples)/[^)#]+)\)", README):
        assert (REPO / link).is_file(), link
