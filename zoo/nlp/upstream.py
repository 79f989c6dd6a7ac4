"""transformers' default pipeline models for text classifiers and encoders, as catalog entries of ``pretrained``.

    python scripts/build_catalog.py      # regenerates zoo/hub/builtin_catalog.json, these entries included

Read from ``transformers.pipelines.SUPPORTED_TASKS``: each text pipeline whose model is an encoder with a head over
its token states (sequence or token classification, masked language modelling, or the bare encoder) names a default
hub repository and the revision it is pinned to. The entry is that repository snapshot at that revision
(``format: hf``, ``hf://owner/repo@revision``); the ``pretrained`` builder reads it with
``AutoModelForSequenceClassification`` and a new head for the user's classes, so the entries carry no label names.

Nothing else is in that metadata: the hub publishes licences and file hashes only online, so each entry points at its
model card for the licence and says ``verify: weights`` (each weights file must load without running code; the
sha256 of every file is pinned in the cache record at the first download).
"""

from __future__ import annotations

import re
from typing import Any

# The pipelines' model classes of encoders: a head over token states, or none. Decoders and seq2seq models are left out.
ENCODER_CLASSES = (
    "AutoModel", "AutoModelForSequenceClassification", "AutoModelForTokenClassification", "AutoModelForMaskedLM",
)
DEFAULT_TASK = "text-classification"  # pretrained=True: already a text classifier


def encoder_defaults() -> dict[str, tuple[str, str]]:
    """Pipeline task -> (hub id, pinned revision) of transformers' text pipelines whose default is an encoder."""
    from transformers.pipelines import SUPPORTED_TASKS

    found = {}
    for task, spec in SUPPORTED_TASKS.items():
        classes = {cls.__name__ for cls in spec.get("pt", ())}
        model = spec.get("default", {}).get("model")
        if spec.get("type") == "text" and classes and classes <= set(ENCODER_CLASSES) and isinstance(model, tuple):
            found[task] = model
    return found


def tag_of(repo_id: str) -> str:
    """The catalog tag of a hub repository: its name, lower case, with characters a tag cannot hold as ``_``."""
    return re.sub(r"[^a-z0-9_\-]", "_", repo_id.split("/", 1)[1].lower())


def transformers_encoders(models: set[str]) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    """Catalog entries (and no label sets) for the default models of transformers' encoder pipelines."""
    if "pretrained" not in models:
        return [], {}
    entries: dict[str, dict[str, Any]] = {}
    for task, (repo_id, revision) in encoder_defaults().items():
        entries.setdefault(f"nlp/pretrained.{tag_of(repo_id)}", entry(task, repo_id, revision))  # first task wins
    return list(entries.values()), {}


def entry(task: str, repo_id: str, revision: str) -> dict[str, Any]:
    """The entry ``nlp/pretrained.<repository name>`` of one pipeline's default model."""
    import transformers

    name = f"nlp/pretrained.{tag_of(repo_id)}"
    return {
        "name": name,
        "file_name": repo_id.split("/", 1)[1],
        "sources": [f"hf://{repo_id}@{revision}"],
        "format": "hf",
        "verify": "weights",
        "license": f"see the model card at https://huggingface.co/{repo_id}",
        "recipe": f"https://huggingface.co/{repo_id}",
        "library": f"transformers {transformers.__version__.split('+')[0]} "
        f"(pipelines.SUPPORTED_TASKS[{task!r}] default)",
        **({"default": True} if task == DEFAULT_TASK else {}),
        "description": f"{repo_id} at revision {revision}, the default model of transformers' {task} pipeline. "
        "zoo loads it with a new classification head for your classes; fine-tune it with `python -m zoo.train "
        f"--task nlp --model pretrained model.pretrained={name}`. The hub publishes no hash zoo can check "
        "offline: each weights file must load without running code, and the sha256 of every file is pinned at the "
        "first download.",
    }
