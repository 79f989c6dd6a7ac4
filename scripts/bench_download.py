"""Download throughput of zoo against curl on the same file from a loopback server.

    python scripts/bench_download.py                  # 512 MiB file, best of 3 runs each
    python scripts/bench_download.py --size-mb 128 --runs 5

zoo's figure includes what it does besides moving bytes: the sha256 of every byte, the fsync and the rename into
the cache. curl writes the file and nothing more. Without curl on the PATH only zoo's figure is printed.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=512, help="file size in MiB")
    parser.add_argument("--runs", type=int, default=3, help="runs of each client; the best counts")
    args = parser.parse_args()

    from zoo.hub import cache, download
    from zoo.hub.catalog import CheckpointEntry
    from zoo.hub.serve import serve_in_thread

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        served = root / "served" / "bench.bin"
        served.parent.mkdir()
        digest = _write_random(served, args.size_mb << 20)
        server = serve_in_thread(served.parent)
        url = f"http://127.0.0.1:{server.server_address[1]}/bench.bin"
        os.environ["ZOO_HOME"] = str(root / "home")
        entry = CheckpointEntry(name="bench/file.x", file_name="bench.bin", sources=(url,), format="safetensors",
                                sha256=digest, size=served.stat().st_size)
        size_mb = served.stat().st_size / 1e6
        curl = shutil.which("curl")
        zoo_s, curl_s = [], []
        for _ in range(args.runs):
            cache.clear()
            start = time.perf_counter()
            download.fetch(entry, progress=False)
            zoo_s.append(time.perf_counter() - start)
            if curl:
                out = root / "curl.bin"
                start = time.perf_counter()
                subprocess.run([curl, "-sS", "--fail", "-o", str(out), url], check=True)
                curl_s.append(time.perf_counter() - start)
                out.unlink()
        server.shutdown()
    zoo_rate = size_mb / min(zoo_s)
    print(f"file: {size_mb:.0f} MB from 127.0.0.1, best of {args.runs}")
    print(f"zoo  : {zoo_rate:8.1f} MB/s  (sha256 verified, fsync, atomic rename)")
    if not curl:
        print("curl : not installed; no comparison")
        return 0
    curl_rate = size_mb / min(curl_s)
    print(f"curl : {curl_rate:8.1f} MB/s")
    print(f"ratio: {zoo_rate / curl_rate:.2f} (zoo / curl)")
    return 0


def _write_random(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    block = os.urandom(1 << 20)
    with open(path, "wb") as f:
        for i in range(size >> 20):
            chunk = block[:-8] + i.to_bytes(8, "little")
            f.write(chunk)
            digest.update(chunk)
    return digest.hexdigest()


if __name__ == "__main__":
    sys.exit(main())
