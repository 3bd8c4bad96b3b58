"""Runbook engine bench: parse 1,000 seed-sized runbooks, and time a trivial step through the runner.

Run: python bench/runbooks.py [--files 1000] [--runs 200] [--rounds 5]
The parse time reported is the median of --rounds rounds (each round printed), not the best.
Targets (issue 6): 1,000 files parsed in under 2 s; runner overhead for `true` under 20 ms.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from warroom.runbooks import library
from warroom.runbooks.cache import RunbookCache
from warroom.runbooks.runner import run_command

SEEDS = Path(__file__).resolve().parents[1] / "tests" / "runbooks" / "seeds"


def make_corpus(folder: Path, count: int) -> int:
    """Write `count` runbooks built from the seeds, each with its own name and title; return bytes."""
    seeds = [p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*"))]
    if not seeds:
        sys.exit(f"no seeds in {SEEDS}")
    total = 0
    services = ["checkout", "billing", "search", "auth", "api", "worker", "cache", "gateway"]
    for i in range(count):
        text = seeds[i % len(seeds)]
        service = services[i % len(services)]
        head = f"---\nid: {service}-{i:04d}\nservices: [{service}]\n---\n"
        body = text.replace("Incident Response Runbook", f"{service.title()} incident runbook {i}", 1)
        path = folder / f"team-{i % 7}" / f"{service}-{i:04d}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(head + body, encoding="utf-8")
        total += len(head) + len(body)
    return total


def percentile(values: list[float], fraction: float) -> float:
    """The value below which `fraction` of `values` fall (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def main() -> None:
    """Run both benches and print their figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5, help="Parse rounds; the median is reported.")
    args = parser.parse_args()

    cpus = os.cpu_count() or 1
    print(
        f"machine: {platform.machine()} {platform.system()} {platform.release()}, {cpus} CPU(s), "
        f"Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory(prefix="warroom-bench-") as tmp:
        folder = Path(tmp)
        size = make_corpus(folder, args.files)
        print(f"corpus: {args.files} runbooks from {SEEDS}, {size / args.files / 1024:.1f} KiB average")
        library.load([folder])  # warm imports and the file cache; both runs below read the same files
        walls: list[float] = []
        cpus_used: list[float] = []
        for _ in range(args.rounds):
            wall, cpu = time.perf_counter(), time.process_time()
            loaded = library.load([folder])
            walls.append(time.perf_counter() - wall)
            cpus_used.append(time.process_time() - cpu)
        # The median, not the best: a user's parse takes the typical time, and the best of a few rounds on a
        # shared machine reports the one quiet moment. Every round is printed so the spread is visible.
        elapsed, cpu_used = statistics.median(walls), statistics.median(cpus_used)
        steps = sum(len(r.steps) for r in loaded.runbooks)
        verdict = "meets" if elapsed < 2.0 else "misses"
        # CPU time too: on a shared machine the wall clock also counts time other processes ran.
        print(
            f"parse: {len(loaded.runbooks)} files in {elapsed:.2f} s wall, {cpu_used:.2f} s CPU "
            f"(median of {len(walls)}) = {len(loaded.runbooks) / elapsed:,.0f} files/s, {steps:,} steps "
            f"({verdict} the 2 s target)"
        )
        print(f"       rounds (s wall): {', '.join(f'{w:.2f}' for w in walls)}")
        print(f"       load average during the run: {os.getloadavg()[0]:.2f} on {cpus} CPU(s)")
        # The server's library: parsed once at start, then each request only stats the files.
        cache = RunbookCache([folder])
        cache.refresh()
        refreshes: list[float] = []
        for _ in range(20):
            start = time.perf_counter()
            cache.refresh()
            refreshes.append(time.perf_counter() - start)
        assert cache.last.parsed == 0
        changed = next(iter(sorted(folder.rglob("*.md"))))
        changed.write_text(changed.read_text(encoding="utf-8") + "\n## Added\n", encoding="utf-8")
        start = time.perf_counter()
        cache.refresh()
        one_changed = time.perf_counter() - start
        print(
            f"server library: refresh of {cache.last.files} unchanged files p50 "
            f"{statistics.median(refreshes) * 1000:.1f} ms; with one file changed {one_changed * 1000:.1f} ms "
            f"({cache.last.parsed} parsed again)"
        )

    raw: list[float] = []
    for _ in range(args.runs):
        start = time.perf_counter()
        subprocess.run(["bash", "-o", "pipefail", "-c", "true"], check=True)
        raw.append(time.perf_counter() - start)
    timings: list[float] = []
    for _ in range(args.runs):
        start = time.perf_counter()
        result = run_command("true", timeout=10)
        timings.append(time.perf_counter() - start)
        assert result.ok
    p50, p99 = percentile(timings, 0.50) * 1000, percentile(timings, 0.99) * 1000
    base = statistics.median(raw) * 1000
    verdict = "meets" if p99 < 20 else "misses"
    print(
        f"runner: `true` x{args.runs}: p50 {p50:.2f} ms, p99 {p99:.2f} ms "
        f"(bare subprocess.run of bash: p50 {base:.2f} ms; {verdict} the 20 ms target)"
    )


if __name__ == "__main__":
    main()
