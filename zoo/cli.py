"""Command line: ``zoo COMMAND`` and ``python -m zoo COMMAND`` are the same.

    zoo list [TASK]                                   tasks, models and datasets (no torch import)
    zoo train --task vision [--model M] [--dataset D] [--output DIR] [--resume] [key=value ...]
    zoo evaluate --checkpoint RUN/checkpoints/best [--dataset D] [--split val] [--json]
    zoo predict --checkpoint RUN/checkpoints/best image.png ...
    zoo checkpoints [TASK]                            pretrained checkpoints in the catalogs (no torch import)
    zoo download NAME... | --task T | --all           prefetch checkpoints into the cache
    zoo cache [list|verify|clear]
    zoo publish --checkpoint RUN/checkpoints/best --name task/model.tag --out DIR [--hub REPO]
    zoo export --checkpoint PATH --format onnx|torchscript
    zoo serve DIR                                     host a published folder over HTTP

Errors print one line with the cause and the fix; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from zoo import registry
from zoo.errors import ZooError
from zoo.hub import commands as hub_commands


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zoo", description="A PyTorch model zoo with one registry and one trainer.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    listing = commands.add_parser("list", help="list tasks, models and datasets")
    listing.add_argument("task", nargs="?", help="only this task")
    listing.add_argument("--json", action="store_true", help="print JSON instead of tables")

    train = commands.add_parser("train", help="train a recipe", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    train.add_argument("--task", help="task name (vision, ...)")
    train.add_argument("--model", help="model name; picks its recipe")
    train.add_argument("--dataset", help="dataset name; picks its recipe")
    train.add_argument("--config", help="a recipe YAML file of your own")
    train.add_argument("--output", help="run directory (default runs/<task>/<model>-<dataset>-<time>)")
    train.add_argument("--resume", action="store_true", help="continue the run in --output from its last checkpoint")
    train.add_argument("--device", help="cpu, cuda, cuda:N (default: CUDA when present, else CPU)")
    train.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides, e.g. trainer.epochs=3")

    evaluate = commands.add_parser("evaluate", help="evaluate a checkpoint")
    evaluate.add_argument("--checkpoint", required=True, help="checkpoint dir, or a run dir (uses its best)")
    evaluate.add_argument("--dataset", help="another dataset of the same task")
    evaluate.add_argument("--split", default="val", choices=["train", "val"])
    evaluate.add_argument("--device", help="cpu, cuda, cuda:N (default: as trained, else auto)")
    evaluate.add_argument("--json", action="store_true", help="print the metrics as JSON")
    evaluate.add_argument("overrides", nargs="*", metavar="key=value", help="e.g. data.eval_batch_size=256")

    predict = commands.add_parser("predict", help="predict with a checkpoint")
    predict.add_argument("--checkpoint", required=True, help="checkpoint dir, or a run dir (uses its best)")
    predict.add_argument("inputs", nargs="+", metavar="INPUT", help="inputs, e.g. image files")
    predict.add_argument("--device", help="cpu, cuda, cuda:N")
    predict.add_argument("--json", action="store_true", help="print predictions as JSON")
    hub_commands.add_parsers(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except ZooError as error:
        if args.debug:
            raise
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if args.command == "download":
            print("interrupted; run the same command again to resume the download", file=sys.stderr)
        else:
            print("interrupted; resume with --resume --output RUN_DIR", file=sys.stderr)
        return 130


def _list(args: argparse.Namespace) -> int:
    tasks = [registry.get_task(args.task)] if args.task else [registry.get_task(t) for t in registry.list_tasks()]
    if args.json:
        print(json.dumps(_listing_json(tasks), indent=2))
        return 0
    print(_table(["task", "description", "default"], [[t.name, t.description, t.default_recipe] for t in tasks]))
    print()
    models = [m for t in tasks for m in t.models.values()]
    print(_table(
        ["task", "model", "params", "input", "dataset", "licence"],
        [[m.task, m.name, _human(m.params), m.input, m.default_dataset, m.license] for m in models],
    ))
    print()
    datasets = [d for t in tasks for d in t.datasets.values()]
    print(_table(
        ["task", "dataset", "classes", "embedded", "description"],
        [[d.task, d.name, str(d.num_classes or "-"), "yes" if d.embedded else "", d.description] for d in datasets],
    ))
    return 0


def _listing_json(tasks: list[registry.TaskEntry]) -> list[dict]:
    from dataclasses import asdict

    return [
        {
            "name": t.name,
            "description": t.description,
            "default_recipe": t.default_recipe,
            "metrics": list(t.metrics),
            "models": [asdict(m) for m in t.models.values()],
            "datasets": [asdict(d) for d in t.datasets.values()],
        }
        for t in tasks
    ]


def _human(count: int) -> str:
    for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if count >= size:
            return f"{count / size:.1f}{unit}"
    return str(count)


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    lines = ["  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)).rstrip() for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _train(args: argparse.Namespace) -> int:
    from zoo.api import prepare_run
    from zoo.trainer import Trainer

    overrides = [*args.overrides, *([f"trainer.device={args.device}"] if args.device else [])]
    config, run_dir = prepare_run(args.task, args.model, args.dataset, args.config, args.output, args.resume, overrides)
    try:
        summary = Trainer(config, run_dir).fit(resume=args.resume)
    except KeyboardInterrupt:
        print(f"interrupted; continue with: python -m zoo.train --output {run_dir} --resume", file=sys.stderr)
        return 130
    best = {k: v for k, v in summary["best"].items() if k.startswith("val/")}
    print(f"run: {run_dir}")
    print(f"best (step {summary['best']['step']}): " + " ".join(f"{k} {v:.4f}" for k, v in best.items()))
    print(f"checkpoints: {summary['checkpoints']['best']}  summary: {run_dir / 'summary.json'}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from zoo.api import evaluate

    metrics = evaluate(args.checkpoint, dataset=args.dataset, split=args.split, device=args.device,
                       overrides=args.overrides)
    if args.json:
        print(json.dumps(metrics, indent=2))
    else:
        print("  ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
    return 0


def _predict(args: argparse.Namespace) -> int:
    from zoo.api import load

    loaded = load(args.checkpoint, args.device)
    from zoo.runtime import select_device

    predictions = loaded.task.predict(loaded.model, args.inputs, loaded.meta["info"],
                                      select_device(loaded.config.trainer.device))
    for prediction in predictions:
        print(json.dumps(prediction) if args.json else loaded.task.format_prediction(prediction))
    return 0


_COMMANDS = {"list": _list, "train": _train, "evaluate": _evaluate, "predict": _predict, **hub_commands.COMMANDS}
