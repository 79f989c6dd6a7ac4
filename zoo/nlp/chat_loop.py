"""``zoo chat --checkpoint RUN``: talk to a chat checkpoint in the terminal, its answers streamed as they are made.

    python -m zoo chat --checkpoint runs/nlp/RUN                          # greedy answers
    python -m zoo chat --checkpoint runs/nlp/RUN --temperature 0.7 --top-p 0.9 --seed 0 --device cuda
    printf 'There are 2 red balls and 5 blue cubes, from left to right. How many cubes are there?\n' \
        | python -m zoo chat --checkpoint runs/nlp/RUN                  # through a pipe: one answer per line

Each line typed is a user message; the conversation is kept, so later questions see the earlier turns. ``/reset``
starts a new conversation, ``/exit`` (or end of input) quits. A message the model cannot take (empty, or past its
context) is answered with one line saying so, and the conversation goes on. This module imports no torch until a
chat starts, so ``zoo --help`` stays fast.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from typing import Any, TextIO

HELP = "/reset starts a new conversation, /exit (or Ctrl-D) quits"


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Register ``chat`` among the CLI's subcommands."""
    chat = commands.add_parser("chat", help="talk to a chat checkpoint in the terminal (answers streamed)",
                               description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    chat.add_argument("--checkpoint", required=True, help="checkpoint dir, or a run dir (uses its best)")
    chat.add_argument("--device", help="cpu, cuda, cuda:N (default: as trained, else auto)")
    chat.add_argument("--max-new-tokens", type=int, default=128, help="most tokens per answer (default 128)")
    chat.add_argument("--temperature", type=float, default=0.0, help="0: greedy (default); above 0: sample")
    chat.add_argument("--top-p", type=float, default=1.0, help="sample within this much probability mass")
    chat.add_argument("--top-k", type=int, default=0, help="sample among the k likeliest tokens (0: all)")
    chat.add_argument("--seed", type=int, default=None, help="seed of sampling: the same seed repeats a sample")
    chat.add_argument("--system", default="", help="a system message put before the conversation")
    return chat


def command(args: argparse.Namespace) -> int:
    from zoo.nlp.chat import ChatPredictOptions

    options = ChatPredictOptions(max_new_tokens=args.max_new_tokens, temperature=args.temperature, top_p=args.top_p,
                                 top_k=args.top_k, seed=args.seed, system=args.system)
    return chat(args.checkpoint, options, args.device)


def chat(checkpoint: str, options: Any, device: str | None = None, stdin: TextIO | None = None,
         stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Read user messages line by line from ``stdin`` and stream the answers to ``stdout`` until ``/exit`` or EOF."""
    import torch

    from zoo.api import load
    from zoo.errors import ConfigError
    from zoo.nlp.chat import Chat
    from zoo.nlp.generation import stream
    from zoo.runtime import cpu_threads, select_device

    stdin, stdout, stderr = stdin or sys.stdin, stdout or sys.stdout, stderr or sys.stderr
    loaded = load(checkpoint, device)
    if not isinstance(loaded.task, Chat):
        raise ConfigError(f"zoo chat needs a checkpoint of the chat problem; {loaded.path} is "
                          f"{loaded.config.task}/{loaded.config.problem}: use zoo predict with it")
    task, model, info = loaded.task, loaded.model, loaded.meta["info"]
    device_ = select_device(loaded.config.trainer.device)
    tokenizer = task.tokenizer(info)
    interactive = stdin.isatty()
    if interactive:
        with contextlib.suppress(ImportError):
            import readline  # noqa: F401 - line editing and history for input()
        print(f"chatting with {loaded.path} ({HELP})", file=stderr)
    history: list[dict[str, str]] = []
    with cpu_threads(loaded.config.trainer.threads):
        while True:
            line = _read(stdin, interactive)
            if line is None:
                break
            text = line.strip()
            if text == "/exit":
                break
            if text == "/reset":
                history = []
                print("(a new conversation)", file=stderr if not interactive else stdout, flush=True)
                continue
            if text.startswith("/"):
                print(f"error: unknown command {text.split()[0]}; {HELP}", file=stderr, flush=True)
                continue
            messages = [*history, {"role": "user", "content": text}]
            try:
                ids = task.prompt(messages, info, options.system)
            except ConfigError as error:
                print(f"error: {error}", file=stderr, flush=True)
                continue
            prompt = torch.tensor([ids], device=device_)
            generation = task.generation(options, len(ids), info)
            pieces = []
            for piece in stream(model, tokenizer, prompt, torch.ones_like(prompt), generation,
                                info["end_token_ids"], info["pad_token_id"]):
                pieces.append(piece)
                stdout.write(piece)
                stdout.flush()
            stdout.write("\n")
            stdout.flush()
            history = [*messages, {"role": "assistant", "content": "".join(pieces).strip()}]
    return 0


def _read(stdin: TextIO, interactive: bool) -> str | None:
    """The next line, or None at the end of input."""
    if interactive and stdin is sys.stdin:
        try:
            return input("> ")
        except EOFError:
            return None
    line = stdin.readline()
    return line if line else None
