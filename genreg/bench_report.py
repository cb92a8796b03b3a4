"""Runs genreg's benchmark cases with torch.utils.benchmark and formats the table
that `genreg bench` prints (and the README shows)."""

from __future__ import annotations

import platform
import statistics

from ._version import __version__


def _machine() -> str:
    import os

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    l3 = ""
    try:  # tensors smaller than the last-level cache can beat the copy-bandwidth bound
        with open("/sys/devices/system/cpu/cpu0/cache/index3/size") as f:
            l3 = f", L3 {f.read().strip()}"
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} logical CPUs{l3}"


ROUNDS = 5  # turns per implementation and case


def run_benchmarks(quick: bool = False, compile: bool = True, small: bool = False,
                   min_run_time: float | None = None) -> dict:
    """Check then time every case. ``small``: tiny sizes (for tests)."""
    import torch
    from torch.utils.benchmark import Timer

    from . import benchmarking, kernels
    from .process_memory import keep_freed_memory

    malloc_kept = keep_freed_memory()
    min_time = min_run_time if min_run_time is not None else 0.2 if quick else 1.0
    bandwidth = benchmarking.copy_bandwidth(nbytes=(8 if small else 256) * 2**20, min_run_time=min_time)
    rows = []
    for case in benchmarking.cases(quick=quick, small=small):
        if not compile and "compiled" in case.run:
            del case.run["compiled"]
            case.skipped["compiled"] = "skipped (--no-compile)"
        row = {"op": case.op, "size": case.size, "bytes": case.bytes, "us": {}, "skipped": dict(case.skipped)}
        timers = {}
        for impl in benchmarking.IMPLS:
            if impl not in case.run:
                continue
            try:
                if impl != "reference":
                    benchmarking.check(case, impl)  # also warms up (compiles) before timing
                else:
                    case.run[impl]()
            except Exception as exc:
                row["skipped"][impl] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:150]}"
                continue
            # Timer runs single-threaded unless told otherwise
            timers[impl] = Timer("fn()", globals={"fn": case.run[impl]}, num_threads=torch.get_num_threads())
        # The implementations take turns, so that other jobs' bursts on a shared machine
        # fall on all of them alike; each one's time is the median over the rounds.
        samples = {impl: [] for impl in timers}
        for _ in range(ROUNDS):
            for impl, timer in timers.items():
                samples[impl].append(timer.blocked_autorange(min_run_time=min_time / ROUNDS).median)
        row["us"] = {impl: statistics.median(v) * 1e6 for impl, v in samples.items()}
        if case.bytes:  # effective bandwidth of each implementation (the least traffic / time)
            row["gbs"] = {impl: case.bytes / (us * 1e-6) / 1e9 for impl, us in row["us"].items()}
            row["of_bound"] = {impl: gbs / (bandwidth / 1e9) for impl, gbs in row["gbs"].items()}
        rows.append(row)
    return {
        "genreg": __version__,
        "torch": torch.__version__,
        "machine": _machine(),
        "threads": torch.get_num_threads(),
        "extension_loaded": kernels.extension_state().loaded,
        "copy_bandwidth_gbs": bandwidth / 1e9,
        "malloc_keeps_freed_memory": malloc_kept,
        "rows": rows,
    }


def format_table(report: dict) -> str:
    bw = report["copy_bandwidth_gbs"]
    lines = [
        f"genreg {report['genreg']}, torch {report['torch']}, {report['machine']}, {report['threads']} threads",
        f"memory bandwidth (large copy): {bw:.1f} GB/s; times are medians in microseconds over {ROUNDS} interleaved rounds"
        + ("; malloc keeps freed memory (no page faults from fresh outputs)"
           if report.get("malloc_keeps_freed_memory") else ""),
        "",
        f"| {'op':<28} | {'size':<22} | {'eager':>9} | {'compiled':>9} | {'fused':>9} | {'vs eager':>8} "
        f"| {'vs comp.':>8} | {'fused GB/s':>10} | {'of bound':>8} |",
        "|" + "|".join("-" * (w + 2) for w in (28, 22, 9, 9, 9, 8, 8, 10, 8)) + "|",
    ]
    notes = []
    for row in report["rows"]:
        us = row["us"]
        cell = lambda impl: f"{us[impl]:.0f}" if impl in us else "-"
        ratio = lambda a, b: f"{us[a] / us[b]:.2f}x" if a in us and b in us else "-"
        gbs = row.get("gbs", {}).get("fused")
        lines.append(
            f"| {row['op']:<28} | {row['size']:<22} | {cell('reference'):>9} | {cell('compiled'):>9} "
            f"| {cell('fused'):>9} | {ratio('reference', 'fused'):>8} | {ratio('compiled', 'fused'):>8} "
            f"| {(f'{gbs:.1f}' if gbs is not None else '-'):>10} "
            f"| {(f'{100 * gbs / bw:.0f} %' if gbs is not None else '-'):>8} |")
        for impl, why in row["skipped"].items():
            notes.append(f"{row['op']} {row['size']}: {impl} not timed: {why}")
    lines += ["", "GB/s counts the least memory traffic each op needs (conv1d_block and upconv1d_block are",
              "compute-bound, so their share of the bandwidth bound says little; the whole training steps",
              "have none). Tensors that fit in the last-level cache can beat the bound, which is measured",
              "on a larger copy. Whole steps: eager = GENREG_KERNELS=reference, fused = auto (genreg's default)."]
    if notes:
        lines += [""] + sorted(set(notes))
    return "\n".join(lines)
