"""Train a task: ``python -m zoo.train`` is ``python -m zoo train``.

    python -m zoo.train --task vision                                   # CPU, or CUDA when present
    python -m zoo.train --task vision --model resnet18 --dataset cifar10 trainer.device=cuda trainer.precision=bf16
    python -m zoo.train --task vision --output runs/mine --resume       # continue an interrupted run
"""

import sys

from zoo.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["train", *sys.argv[1:]]))
