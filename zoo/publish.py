"""Publish a run's checkpoint as a catalog entry that others can download and verify.

    python -m zoo publish --checkpoint runs/vision/x/checkpoints/best --name vision/small_cnn.shapes --out zoo-site
    python -m zoo serve zoo-site        # clients: ZOO_CATALOG=http://HOST:8000/catalog.json

``--out`` receives, laid out as the cache and a mirror are (``<task>/<model>.<tag>/``), slim weights
(``model.safetensors``: the model or EMA weights only, no optimizer state), a model card as markdown (``README.md``,
which the Hugging Face Hub shows) and JSON (``card.json``), and ``catalog.json`` with the entry and its sha256,
merged with the entries already there so that one folder can host a whole zoo.
"""

from __future__ import annotations

import inspect
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoo.errors import CheckpointError, ConfigError
from zoo.hub.catalog import NAME, CheckpointEntry, entry_from_json, write_catalog

WEIGHTS_FILE = "model.safetensors"
DEFAULT_USE = "Research and fine-tuning on data like the training set; check the metrics on your own data first."


@dataclass
class Published:
    entry: CheckpointEntry
    folder: Path
    catalog: Path


def publish(
    checkpoint: str | Path,
    name: str,
    out: str | Path,
    *,
    weights: str = "auto",
    license: str | None = None,  # noqa: A002 - the card's word
    intended_use: str = DEFAULT_USE,
    base_url: str | None = None,
    hub_repo: str | None = None,
    default: bool = False,
) -> Published:
    """Write the weights, card and catalog entry of ``checkpoint`` under ``out``; push to the Hub if asked."""
    import yaml
    from safetensors.torch import load_file, save_file

    from zoo import __version__, checkpoint as ckpt, registry
    from zoo.config import from_dict, migrate
    from zoo.hub.cache import sha256_file
    from zoo.pretrained import find_head
    from zoo.task import load_task

    match = NAME.match(name)
    if not match:
        raise ConfigError(f"--name {name!r} is not task/model.tag, e.g. vision/small_cnn.shapes")
    path = ckpt.resolve(checkpoint)
    meta = ckpt.read_meta(path)
    if (match["task"], match["model"]) != (meta["task"], meta["model"]):
        kind = f"{meta['task']}/{meta['model']}"
        raise ConfigError(f"{path} holds a {kind} model; name it {kind}.TAG")
    which = meta.get("inference_weights", "model") if weights == "auto" else weights
    source = path / (ckpt.EMA_FILE if which == "ema" else ckpt.MODEL_FILE)
    if which not in ("model", "ema") or not source.is_file():
        raise CheckpointError(f"{path} has no {which} weights ({source.name}); choose --weights model")

    config = from_dict(migrate(meta["config"]))
    task = load_task(config, meta["info"])
    model = task.build_model(meta["info"])
    state = load_file(str(source))
    ckpt.load_weights(path, model, which)  # the weights fit the model rebuilt from the saved config
    builder_args = _builder_args(task, meta["info"], config.model.args)
    info = meta["info"]
    num_classes = info.get("num_classes")

    folder = Path(out) / f"{match['task']}/{match['model']}.{match['tag']}"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / WEIGHTS_FILE
    tensors = {k: v.contiguous() for k, v in state.items()}
    save_file(tensors, str(target), metadata={"format": "pt", "zoo_checkpoint": name, "zoo_version": __version__})
    sources = [f"{folder.relative_to(out).as_posix()}/{WEIGHTS_FILE}"]
    if base_url:
        sources.append(f"{base_url.rstrip('/')}/{sources[0]}")
    dataset = registry.get_dataset_entry(meta["task"], meta["dataset"])
    model_entry = registry.get_model_entry(meta["task"], meta["model"])
    entry_json = {
        "name": name,
        "file_name": WEIGHTS_FILE,
        "sources": sources,
        "format": "safetensors",
        "sha256": sha256_file(target),
        "size": target.stat().st_size,
        "builder_args": builder_args,
        "head": list(find_head(model, num_classes)) if num_classes else [],
        "params": meta.get("params", 0),
        "metrics": [
            {"dataset": meta["dataset"], "split": k.split("/", 1)[0], "metric": k.split("/", 1)[1], "value": v}
            for k, v in meta.get("metrics", {}).items() if "/" in k
        ],
        "preprocessing": {k: v for k, v in info.items() if k not in ("classes",)},
        "labels": list(info.get("classes", [])),
        "license": license or model_entry.license,
        "recipe": registry.recipe_name(meta["task"], meta["model"], meta["dataset"]),
        "config": meta["config"],
        "library": f"zoo {__version__}",
        "zoo_version": meta.get("zoo_version", __version__),
        "default": default,
        "description": f"{model_entry.description} Trained on {meta['dataset']} ({which} weights, "
        f"step {meta.get('step')}).",
    }
    card = {**entry_json, "weights": which, "data": {"name": dataset.name, "description": dataset.description,
                                                    "source": dataset.source, "license": dataset.license},
            "intended_use": intended_use, "step": meta.get("step"), "epoch": meta.get("epoch")}
    from zoo.io import atomic_write_json, atomic_write_text

    atomic_write_json(folder / "card.json", card)
    recipe = yaml.safe_dump(meta["config"], sort_keys=False)
    atomic_write_text(folder / "recipe.yaml", f"# python -m zoo train --config recipe.yaml\n{recipe}")
    atomic_write_text(folder / "README.md", model_card(card))
    if hub_repo:
        entry_json["sources"].append(push_to_hub(folder, hub_repo))
    entry = entry_from_json(entry_json, origin=str(Path(out).resolve()))
    catalog = Path(out) / "catalog.json"
    write_catalog(catalog, [entry])
    return Published(entry, folder, catalog)


def _builder_args(task: Any, info: dict[str, Any], model_args: dict[str, Any]) -> dict[str, Any]:
    """The builder arguments the run used: the data's defaults the builder accepts, then the recipe's own."""
    from zoo import registry

    builder = registry.load_object(task.entry.model(task.config.model.name).builder)
    accepted = inspect.signature(builder).parameters
    return {**{k: v for k, v in task.model_defaults(info).items() if k in accepted}, **model_args}


def _preprocessing_lines(preprocessing: dict[str, Any], room: int = 120) -> str:
    """One line per key; values too long to read (a tokenizer, id maps) are summarised by their size."""
    lines = []
    for key, value in preprocessing.items():
        text = json.dumps(value)
        if len(text) > room:
            size = f"{len(value):,} entries" if isinstance(value, (list, dict)) else f"{len(text):,} characters"
            text = f"{type(value).__name__} of {size}"
        else:
            text = f"`{text}`"
        lines.append(f"- {key}: {text}")
    return "\n".join(lines) or "- none"


def model_card(card: dict[str, Any]) -> str:
    """The markdown card: front matter the Hugging Face Hub reads, then what a user needs before downloading."""
    metrics = "\n".join(f"| {m['dataset']} | {m['split']} | {m['metric']} | {m['value']:.4f} |"
                        for m in card["metrics"])
    task, rest = card["name"].split("/", 1)
    model, tag = rest.split(".", 1)
    labels = ", ".join(card["labels"][:20]) + (" ..." if len(card["labels"]) > 20 else "")
    data = card["data"]
    license_id = card["license"] if " " not in card["license"] else "other"
    return f"""---
license: {license_id.lower()}
library_name: zoo
tags: [zoo, {task}, {model}]
---
# {card['name']}

{card['description']}

## Use

```python
import zoo
model = zoo.build_model("{task}", "{model}", pretrained="{tag}")
```

Intended use: {card['intended_use']}

## Metrics

| dataset | split | metric | value |
|---|---|---|---|
{metrics}

## Data

{data['name']}: {data['description']} Source: {data['source']}. Licence: {data['license']}.

Labels ({len(card['labels'])}): {labels}

Preprocessing (in full in `card.json`):

{_preprocessing_lines(card['preprocessing'])}

## Recipe

Trained from `{card['recipe']}` as resolved in `recipe.yaml`; these are its {card['weights']} weights at step
{card['step']}. Reproduce with `python -m zoo train --config recipe.yaml`.

## Files

`{card['file_name']}` ({card['size']} bytes, {card['params']} parameters), sha256 `{card['sha256']}`.
Licence: {card['license']}. Made with zoo {card['zoo_version']}.
"""


def push_to_hub(folder: Path, repo: str) -> str:
    """Upload the folder to a Hugging Face model repo; returns the ``hf://`` source of its weights."""
    from huggingface_hub import HfApi, get_token

    if not (os.environ.get("HF_TOKEN") or get_token()):
        raise ConfigError(
            "--hub needs Hugging Face credentials: run `hf auth login` (or `huggingface-cli login`) or set HF_TOKEN; "
            f"the files are written under {folder} and can be uploaded later"
        )
    api = HfApi()
    api.create_repo(repo, exist_ok=True)
    api.upload_folder(folder_path=str(folder), repo_id=repo, commit_message=f"zoo publish {folder.name}")
    return f"hf://{repo}/{WEIGHTS_FILE}"
