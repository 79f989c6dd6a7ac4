"""Start-up costs a user feels: ``import zoo``, ``python -m zoo list``, and the first build of each task's default
recipe's data and model (which imports torch and the domain's libraries).

    python scripts/bench_import.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time


def timed(code: list[str], repeats: int = 5) -> float:
    """Median wall seconds of a fresh interpreter running ``code``."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, *code], check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    baseline = timed(["-c", "pass"])
    rows = [("python -c pass", baseline)]
    rows.append(("import zoo", timed(["-c", "import zoo"])))
    rows.append(("python -m zoo list", timed(["-m", "zoo", "list"])))
    torch_free = subprocess.run(
        [sys.executable, "-c", "import sys, zoo.cli; zoo.cli.main(['list']); print('torch' in sys.modules)"],
        capture_output=True, text=True, check=True,
    ).stdout.strip().splitlines()[-1] == "False"
    import zoo

    for task in zoo.list_tasks():
        entry = zoo.get_task(task)
        code = (
            "from zoo import recipes; from zoo.task import load_task; "
            f"task = load_task(recipes.resolve({task!r})); task.build_model(task.build_data(['train', 'val']).info)"
        )
        rows.append((f"data + model of {entry.default_recipe}", timed(["-c", code], repeats=3)))
    print(f"{'what':<46} {'seconds':>8} {'over bare python':>17}")
    for name, seconds in rows:
        print(f"{name:<46} {seconds:>8.3f} {seconds - baseline:>16.3f}s")
    print(f"zoo list imports torch: {'no' if torch_free else 'YES'}")


if __name__ == "__main__":
    main()
