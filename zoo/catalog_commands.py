"""The checkpoint commands of ``python -m zoo``; each imports what it needs only when it runs.

    zoo checkpoints [TASK] [--model M] [--json]              the catalog, with what is cached (no torch import)
    zoo download NAME... | --task T | --all                  prefetch into the cache ($ZOO_HOME)
    zoo cache [list|verify|clear] [NAME...]
    zoo publish --checkpoint RUN/checkpoints/best --name task/model.tag --out DIR [--hub REPO]
    zoo export --checkpoint PATH|NAME --format onnx|torchscript [--out FILE]
    zoo serve DIR [--port 8000]                              host a published folder (with Range support)

``--catalog FILE|URL`` (repeatable) adds a catalog to the built-in one and ``ZOO_CATALOG``.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from zoo.errors import ConfigError


def add_parsers(commands: Any) -> None:
    catalogs = argparse.ArgumentParser(add_help=False)
    catalogs.add_argument("--catalog", action="append", default=[], metavar="FILE|URL",
                          help="another catalog (repeatable); ZOO_CATALOG also adds catalogs")

    listing = commands.add_parser("checkpoints", parents=[catalogs], help="list pretrained checkpoints")
    listing.add_argument("task", nargs="?", help="only this task")
    listing.add_argument("--model", help="only this model")
    listing.add_argument("--json", action="store_true", help="print the catalog entries as JSON")

    download = commands.add_parser("download", parents=[catalogs], help="download checkpoints into the cache")
    download.add_argument("names", nargs="*", metavar="NAME", help="checkpoints, e.g. vision/resnet18.imagenet1k_v1")
    download.add_argument("--task", help="every checkpoint of this task")
    download.add_argument("--all", action="store_true", help="every checkpoint in the catalogs")
    download.add_argument("--mirror", help="a base URL or directory laid out as <task>/<model>.<tag>/<file>")
    download.add_argument("--no-progress", action="store_true", help="no progress bar")

    cache = commands.add_parser("cache", parents=[catalogs], help="list, verify or clear the checkpoint cache")
    cache.add_argument("action", nargs="?", default="list", choices=["list", "verify", "clear"])
    cache.add_argument("names", nargs="*", metavar="NAME", help="clear: only these checkpoints")

    publish = commands.add_parser("publish", help="publish a checkpoint: weights, model card, catalog entry")
    publish.add_argument("--checkpoint", required=True, help="checkpoint dir, or a run dir (uses its best)")
    publish.add_argument("--name", required=True, help="task/model.tag, e.g. vision/small_cnn.shapes")
    publish.add_argument("--out", required=True, help="folder to publish into (served as is; catalog.json merged)")
    publish.add_argument("--weights", default="auto", choices=["auto", "model", "ema"],
                         help="auto: the EMA weights when the run kept them")
    publish.add_argument("--license", help="licence of the weights (default: the model's)")
    publish.add_argument("--intended-use", help="one or two sentences for the model card")
    publish.add_argument("--base-url", help="also list an absolute URL source: BASE_URL/<task>/<model>.<tag>/...")
    publish.add_argument("--hub", metavar="REPO", help="also push to this Hugging Face Hub repo (needs credentials)")
    publish.add_argument("--default", action="store_true", help="make this the tag pretrained=True picks")

    export = commands.add_parser("export", parents=[catalogs], help="export to ONNX or TorchScript, checked")
    export.add_argument("--checkpoint", required=True, help="a run checkpoint, or a catalog name task/model.tag")
    export.add_argument("--format", required=True, choices=["onnx", "torchscript"])
    export.add_argument("--out", help="output file (default <model>.onnx or <model>.pt here)")
    export.add_argument("--atol", type=float, default=1e-4, help="largest allowed absolute difference")

    serve = commands.add_parser("serve", help="serve a published folder over HTTP (with Range requests)")
    serve.add_argument("directory", help="the --out folder of publish")
    serve.add_argument("--host", default="127.0.0.1", help="0.0.0.0 to serve other machines")
    serve.add_argument("--port", type=int, default=8000)


def _catalogs(args: argparse.Namespace) -> None:
    from zoo.hub.catalog import add_catalog

    for location in getattr(args, "catalog", []):
        add_catalog(location)


def _checkpoints(args: argparse.Namespace) -> int:
    from zoo import registry
    from zoo.hub import cache
    from zoo.hub.catalog import list_checkpoints

    _catalogs(args)
    if args.task:
        registry.get_task(args.task)
    entries = list_checkpoints(args.task, args.model)
    if args.json:
        print(json.dumps([e.to_json() for e in entries], indent=2))
        return 0
    from zoo.table import format_table as _table
    from zoo.table import human as _human

    rows = []
    for e in entries:
        metric = next(iter(e.metrics), None)
        shown = f"{metric.metric} {metric.value:.4f} ({metric.dataset})" if metric else "-"
        rows.append([e.name + (" *" if e.default else ""), _human(e.params) if e.params else "-", shown,
                     _human(e.size) + "B" if e.size else "-", "yes" if cache.is_cached(e) else "", _short(e.license),
                     "none published" if e.verify == "weights" else e.hash_check])
    print(_table(["checkpoint (* default)", "params", "metric", "size", "cached", "licence", "hash"], rows))
    if any(e.verify == "weights" for e in entries):
        print('hash "none published": upstream gives no hash; a download is kept only if it loads as weights '
              "without running code, and its sha256 is pinned in the cache at the first download (docs/checkpoints.md)")
    return 0


def _short(text: str, width: int = 48) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _download(args: argparse.Namespace) -> int:
    from zoo.hub.catalog import get_checkpoint, list_checkpoints
    from zoo.hub.download import fetch

    _catalogs(args)
    if args.all or args.task:
        if args.task:
            from zoo import registry

            registry.get_task(args.task)
        entries = list_checkpoints(None if args.all else args.task)
    elif args.names:
        entries = [get_checkpoint(name) for name in args.names]
    else:
        raise ConfigError("name checkpoints to download, or pass --task TASK or --all (see: python -m zoo checkpoints)")
    for entry in entries:
        path = fetch(entry, progress=False if args.no_progress else None, mirror_location=args.mirror)
        print(f"{entry.name}: {path}")
    return 0


def _cache(args: argparse.Namespace) -> int:
    from zoo.hub import cache
    from zoo.hub.catalog import load_entries

    _catalogs(args)
    if args.action == "clear":
        removed = cache.clear(args.names or None)
        print(f"removed {len(removed)} file(s) from {cache.root()}")
        return 0
    if args.action == "verify":
        results = cache.verify(load_entries())
        for cached, status in results:
            print(f"{cached.name}: {status}  ({cached.path})")
        bad = sum(status.startswith("CORRUPT") for _, status in results)
        print(f"{len(results)} file(s) checked, {bad} corrupt")
        return 1 if bad else 0
    from zoo.table import format_table as _table
    from zoo.table import human as _human

    files = cache.list_cached()
    rows = [[f.name + (" (partial)" if f.partial else ""), _human(f.size) + "B",
             (f.sha256[:12] + (" (pinned)" if f.pinned else "")) if f.sha256 else "-", str(f.path)] for f in files]
    print(_table(["checkpoint", "size", "sha256", "path"], rows) if rows else f"the cache ({cache.root()}) is empty")
    return 0


def _publish(args: argparse.Namespace) -> int:
    from zoo.publish import DEFAULT_USE, publish

    done = publish(args.checkpoint, args.name, args.out, weights=args.weights, license=args.license,
                   intended_use=args.intended_use or DEFAULT_USE, base_url=args.base_url, hub_repo=args.hub,
                   default=args.default)
    print(f"published {done.entry.name}: {done.folder}")
    print(f"sha256 {done.entry.sha256}  size {done.entry.size}  sources {', '.join(done.entry.sources)}")
    print(f"catalog: {done.catalog}  (use it with ZOO_CATALOG={done.catalog} or serve {args.out})")
    return 0


def _export(args: argparse.Namespace) -> int:
    from zoo.export import export

    _catalogs(args)
    done = export(args.checkpoint, args.format, args.out, atol=args.atol)
    diff = "outputs not compared" if done.max_abs_diff is None else f"max abs diff {done.max_abs_diff:.3g}"
    print(f"exported {done.path} ({done.format}); {diff}; checked with {done.checked_with}")
    print(f"signature: {done.signature}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from pathlib import Path

    from zoo.hub.serve import make_server

    if not Path(args.directory).is_dir():
        raise ConfigError(f"{args.directory} is not a directory; publish into it first (python -m zoo publish --out)")
    server = make_server(args.directory, args.host, args.port)
    server.verbose = True  # type: ignore[attr-defined]
    host, port = server.server_address[:2]
    print(f"serving {args.directory} at http://{host}:{port}/ (catalog: http://{host}:{port}/catalog.json)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    return 0


COMMANDS = {
    "checkpoints": _checkpoints,
    "download": _download,
    "cache": _cache,
    "publish": _publish,
    "export": _export,
    "serve": _serve,
}
