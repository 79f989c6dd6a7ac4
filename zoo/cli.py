"""Command line: ``zoo COMMAND`` and ``python -m zoo COMMAND`` are the same.

    zoo list [TASK]                                   tasks, models and datasets (no torch import)
    zoo train --task vision [--model M] [--dataset D] [--output DIR] [--resume] [key=value ...]
    zoo evaluate --checkpoint RUN/checkpoints/best [--dataset D] [--split val|test|train] [--json]
    zoo predict --checkpoint RUN/checkpoints/best image.png ...   [--NAME VALUE: options of the task, e.g. --user 196]
    zoo predict --checkpoint RUN/checkpoints/best --file inputs.txt    inputs one per line ('-': standard input)
    zoo chat --checkpoint RUN [--temperature T --top-p P --seed S]      talk to a chat checkpoint (streamed answers)
    zoo checkpoints [TASK]                            pretrained checkpoints in the catalogs (no torch import)
    zoo download NAME... | --task T | --all           prefetch checkpoints into the cache
    zoo cache [list|verify|clear]
    zoo publish --checkpoint RUN/checkpoints/best --name task/model.tag --out DIR [--hub REPO]
    zoo export --checkpoint PATH --format onnx|torchscript
    zoo serve DIR                                     host a published folder over HTTP
    zoo samples --task T [--model M] [--output DIR]   sample input files from the task's data, to try predict on
    zoo plot RUN...                                   loss, metric and learning-rate curves as PNG files
    zoo compare RUN...                                runs side by side: config differences and metrics
    zoo doctor                                        versions, device, cache, offline state, optional extras
    zoo assistant --wake KWS_RUN --intent INTENT_RUN long.wav    wake word, then the command's intent (JSON lines)

Errors print one line with the cause and the fix; ``--debug``, anywhere on the line, shows the traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from zoo import registry
from zoo.errors import ZooError
from zoo import catalog_commands
from zoo.nlp import chat_loop
from zoo.speech import assistant as assistant_command
from zoo.table import format_table


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zoo", description="A PyTorch model zoo with one registry and one trainer.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks (also accepted after the command)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    listing = commands.add_parser("list", help="list tasks, models and datasets")
    listing.add_argument("task", nargs="?", help="only this task")
    listing.add_argument("--json", action="store_true", help="print JSON instead of tables")

    train = commands.add_parser("train", help="train a recipe", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    train.add_argument("--task", help="task name (vision, ...), or TASK/PROBLEM (vision/detection)")
    train.add_argument("--problem", help="the task's problem (classification, detection, ...); picks its default "
                       "recipe (default: the model's, else the task's first)")
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
    evaluate.add_argument("--split", default="val",
                          help="train, val, or test where the dataset has one (MedMNIST, NLP sets, Speech Commands)")
    evaluate.add_argument("--device", help="cpu, cuda, cuda:N (default: as trained, else auto)")
    evaluate.add_argument("--json", action="store_true", help="print the metrics as JSON")
    evaluate.add_argument("--report", nargs="?", const=True, default=None, metavar="DIR",
                          help="write the task's figures (confusion matrix, sample predictions) into DIR; default: "
                          "RUN/reports/ when matplotlib is installed")
    evaluate.add_argument("--no-report", dest="report", action="store_false", help="write no figures")
    evaluate.add_argument("overrides", nargs="*", metavar="key=value", help="e.g. data.eval_batch_size=256")

    predict = commands.add_parser("predict", help="predict with a checkpoint", add_help=False,
                                  description=_PREDICT_HELP)
    _predict_arguments(predict)
    chat_loop.add_parser(commands)
    catalog_commands.add_parsers(commands)
    assistant_command.add_parser(commands)

    samples = commands.add_parser(
        "samples", help="write sample input files (images, audio, texts) from a recipe's validation split",
        description="Write inputs of a recipe's validation split in the form predict reads them, and "
                    "references.json with what each truly holds: python -m zoo samples --task vision, then "
                    "python -m zoo predict --checkpoint RUN samples/vision/*.png")
    samples.add_argument("--task", required=True, help="a task name (see zoo list), or TASK/PROBLEM")
    samples.add_argument("--problem", help="the task's problem (default: the model's, else the task's first)")
    samples.add_argument("--model", help="pick the recipe by model, e.g. crnn_ctc or unet (default: the task's)")
    samples.add_argument("--dataset", help="pick the recipe by dataset (default: the task's embedded one)")
    samples.add_argument("--output", help="directory to write into (default: samples/TASK)")
    samples.add_argument("--count", type=int, default=8, help="how many inputs (default 8)")
    samples.add_argument("overrides", nargs="*", metavar="key=value", help="e.g. data.args.root=/data/kitti")

    plot = commands.add_parser("plot", help="draw a run's loss, metric and learning-rate curves as PNG files")
    plot.add_argument("runs", nargs="+", metavar="RUN", help="run directories")
    plot.add_argument("--out", help="write the PNGs here (default RUN/plots)")

    compare = commands.add_parser("compare", help="runs side by side: config differences and metrics")
    compare.add_argument("runs", nargs="+", metavar="RUN", help="run directories")
    compare.add_argument("--all", action="store_true", help="show every config key, not only those that differ")

    doctor = commands.add_parser("doctor", help="versions, device, cache, offline state and optional extras")
    doctor.add_argument("--json", action="store_true", help="print JSON")
    return parser


def _predict_arguments(parser: argparse.ArgumentParser, options: type | None = None) -> argparse.ArgumentParser:
    """The predict command's own arguments, then ``--NAME VALUE`` for each field of the task's ``PredictOptions``."""
    import dataclasses
    import types
    import typing

    parser.add_argument("-h", "--help", action="store_true", help="show this help; with --checkpoint, also the "
                        "options of its task")
    parser.add_argument("--checkpoint", help="checkpoint dir, or a run dir (uses its best)")
    parser.add_argument("inputs", nargs="*", metavar="INPUT", help="inputs, e.g. image files or user ids")
    parser.add_argument("--file", help="also read inputs from this file, one per line ('-' reads standard input)")
    parser.add_argument("--device", help="cpu, cuda, cuda:N")
    parser.add_argument("--json", action="store_true", help="print predictions as JSON")
    if options is None:
        return parser
    group = parser.add_argument_group("options of the checkpoint's task")
    hints = typing.get_type_hints(options)
    for f in dataclasses.fields(options):
        hint = hints[f.name]
        if typing.get_origin(hint) in (typing.Union, types.UnionType):
            hint = next(a for a in typing.get_args(hint) if a is not type(None))
        flags = [f"--{f.name.replace('_', '-')}"]
        help_text = f.metadata.get("help", "")
        if hint is bool:
            group.add_argument(*flags, dest=f.name, action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS,
                               help=help_text)
        elif typing.get_origin(hint) is typing.Literal:
            group.add_argument(*flags, dest=f.name, choices=typing.get_args(hint), default=argparse.SUPPRESS,
                               help=help_text)
        else:
            kind = hint if hint in (int, float) else str
            group.add_argument(*flags, dest=f.name, type=kind, default=argparse.SUPPRESS, metavar=f.name.upper(),
                               help=f"{help_text} (default {f.default!r})" if help_text else None)
    return parser


_PREDICT_HELP = (
    "Predict with a checkpoint. Tasks may take options besides the inputs (--NAME VALUE, e.g. --user 196 --k 10 "
    "for a recommender); run with --checkpoint PATH --help to list those of its task."
)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv  # anywhere: before the command, after it, or through python -m zoo.train
    argv = [item for item in argv if item != "--debug"]
    parser = _parser()
    args, unknown = parser.parse_known_args(argv)
    args.debug = debug
    if args.command == "predict":  # re-parsed with its task's options once the checkpoint names the task
        args.argv = argv[argv.index("predict") + 1 :]
        unknown = []
    if hasattr(args, "overrides"):  # key=value anywhere: argparse leaves those after an option unparsed
        args.overrides += [item for item in unknown if "=" in item and not item.startswith("-")]
        unknown = [item for item in unknown if item not in args.overrides]
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        return _COMMANDS[args.command](args)
    except ZooError as error:
        if args.debug:
            raise
        print(f"error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into head or less, closed early
        sys.stderr.close()
        return 0
    except OSError as error:  # a path that cannot be read or written: say which, without a traceback
        if args.debug:
            raise
        print(f"error: {_os_error(error)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if args.command == "download":
            print("interrupted; run the same command again to resume the download", file=sys.stderr)
        else:
            print("interrupted; resume with --resume --output RUN_DIR", file=sys.stderr)
        return 130


def _os_error(error: OSError) -> str:
    """One line for a path that cannot be read or written; a file where a folder must go is named as such."""
    import errno
    from pathlib import Path

    if error.filename and error.errno in (errno.EEXIST, errno.ENOTDIR):
        path = Path(error.filename)
        blocker = next((p for p in (path, *path.parents) if p.is_file()), None)
        if blocker is not None:
            return f"{blocker} is a file where a directory is needed ({path}); move it, or choose another path"
    where = f": {error.filename}" if error.filename else ""
    return f"{error.strerror or error}{where} (check the path and its permissions; --debug for details)"


def _list(args: argparse.Namespace) -> int:
    tasks = [registry.get_task(args.task)] if args.task else [registry.get_task(t) for t in registry.list_tasks()]
    if args.json:
        print(json.dumps(_listing_json(tasks), indent=2))
        return 0
    print(format_table(["task", "description", "default"], [[t.name, t.description, t.default_recipe] for t in tasks]))
    print()
    print(registry.list_problems(args.task))
    print()
    print(registry.list_models(args.task))
    print()
    print(registry.list_datasets(args.task))
    return 0


def _listing_json(tasks: list[registry.TaskEntry]) -> list[dict]:
    from dataclasses import asdict

    return [
        {
            "name": t.name,
            "description": t.description,
            "default_recipe": t.default_recipe,
            "metrics": list(t.metrics),
            "problems": [asdict(p) | {"default_recipe": p.default_recipe} for p in t.problems.values()],
            "models": [asdict(m) for m in t.models.values()],
            "datasets": [asdict(d) for d in t.datasets.values()],
        }
        for t in tasks
    ]


def _train(args: argparse.Namespace) -> int:
    from zoo.api import train  # torch-free: names, the config and --output are checked before torch is imported

    overrides = [*args.overrides, *([f"trainer.device={args.device}"] if args.device else [])]
    try:
        result = train(args.task, problem=args.problem, model=args.model, dataset=args.dataset, config=args.config,
                       output=args.output, resume=args.resume, overrides=overrides)
    except KeyboardInterrupt as interrupt:  # SIGINT or SIGTERM: the trainer saved the step and said so
        from zoo import distributed

        if not hasattr(interrupt, "exit_code"):
            where = f"--output {args.output} " if args.output else "--output RUN_DIR "
            print(f"interrupted; continue with: python -m zoo.train {where}--resume", file=sys.stderr)
        code = getattr(interrupt, "exit_code", 130)
        distributed.exit_process(code)
        return code
    except ZooError as error:
        if "zoo.distributed" not in sys.modules:  # failed before torch: no process group to leave
            raise
        from zoo import distributed

        if not distributed.is_initialized():
            raise
        print(f"error (rank {distributed.rank()}): {error}", file=sys.stderr)
        distributed.exit_process(2)
    from zoo import distributed

    if not distributed.is_main():
        distributed.exit_process(0)
    summary, run_dir = result.summary, result.run_dir
    best = {k: v for k, v in summary["best"].items() if k.startswith("val/")}
    print(f"run: {run_dir}")
    print(f"best (step {summary['best']['step']}): " + " ".join(f"{k} {v:.4f}" for k, v in best.items()))
    print(f"checkpoints: {summary['checkpoints']['best']}  summary: {run_dir / 'summary.json'}")
    distributed.exit_process(0)
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    import importlib.util

    from zoo.api import evaluate_with_report

    report = args.report if args.report is not None else importlib.util.find_spec("matplotlib") is not None
    metrics, figures = evaluate_with_report(args.checkpoint, dataset=args.dataset, split=args.split,
                                            device=args.device, overrides=args.overrides, report=report)
    if args.json:
        print(json.dumps(metrics, indent=2))
    else:
        print("  ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
        for figure in figures:
            print(f"figure: {figure}")
    return 0


def _samples(args: argparse.Namespace) -> int:
    from zoo.samples import REFERENCES, write_samples

    paths = write_samples(args.task, args.output, model=args.model, dataset=args.dataset, count=args.count,
                          overrides=args.overrides, problem=args.problem)
    for path in paths:
        print(path)
    if paths:
        print(f"references: {paths[0].parent / REFERENCES}", file=sys.stderr)
    return 0


def _predict(args: argparse.Namespace) -> int:
    from zoo.api import load, predict
    from zoo.errors import ConfigError

    base = _predict_arguments(argparse.ArgumentParser(prog="zoo predict", add_help=False, description=_PREDICT_HELP))
    first, _ = base.parse_known_args(args.argv)
    if not first.checkpoint:
        if first.help:
            base.print_help()
            return 0
        raise ConfigError("predict needs --checkpoint PATH: a checkpoint directory, or a run directory")
    loaded = load(first.checkpoint, first.device)  # once: its task names the options predict takes
    parser = _predict_arguments(argparse.ArgumentParser(prog="zoo predict", add_help=False,
                                                        description=_PREDICT_HELP), loaded.task.PredictOptions)
    parsed = parser.parse_args(args.argv)
    if parsed.help:
        parser.print_help()
        return 0
    given = {name: value for name, value in vars(parsed).items()
             if name not in ("help", "checkpoint", "inputs", "file", "device", "json")}
    inputs = [*parsed.inputs, *(_lines(parsed.file) if parsed.file else [])]
    for prediction in predict(loaded, inputs, **given):
        print(json.dumps(prediction) if parsed.json else loaded.task.format_prediction(prediction))
    return 0


def _lines(path: str) -> list[str]:
    """The non-empty lines of a file (or of standard input for ``-``), without their line endings."""
    from pathlib import Path

    from zoo.errors import ConfigError

    try:
        if path == "-" and sys.stdin is None:
            raise ConfigError("--file -: there is no standard input; pipe the inputs in, or give a file")
        if path == "-":
            text = sys.stdin.buffer.read().decode("utf-8") if hasattr(sys.stdin, "buffer") else sys.stdin.read()
        elif Path(path).is_dir():
            raise ConfigError(f"--file {path} is a directory; give a text file with one input per line")
        elif not Path(path).is_file():
            raise ConfigError(f"--file {path}: no such file")
        else:
            text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        where = "standard input" if path == "-" else path
        raise ConfigError(f"--file {where} is not UTF-8 text (byte {error.start}); save the inputs as UTF-8, one per "
                          "line") from None
    return [line for line in text.splitlines() if line.strip()]


def _plot(args: argparse.Namespace) -> int:
    from pathlib import Path

    from zoo.plots import plot_run

    for run in args.runs:
        out = Path(args.out) / Path(run).name if args.out and len(args.runs) > 1 else args.out
        for path in plot_run(run, out):
            print(path)
    return 0


def _compare(args: argparse.Namespace) -> int:
    from zoo.compare import compare

    print(compare(args.runs, all_keys=args.all))
    return 0


def _doctor(args: argparse.Namespace) -> int:
    from zoo.doctor import format_report, report

    facts = report()
    print(json.dumps(facts, indent=2) if args.json else format_report(facts))
    return 0


_COMMANDS = {"list": _list, "train": _train, "evaluate": _evaluate, "predict": _predict, "chat": chat_loop.command,
             "samples": _samples, **catalog_commands.COMMANDS, "assistant": assistant_command.run,
             "plot": _plot, "compare": _compare, "doctor": _doctor}
