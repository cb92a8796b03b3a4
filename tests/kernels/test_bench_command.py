"""`genreg bench`: the report's structure and table, on tiny sizes (timings are not
asserted, only that every available implementation was checked and timed)."""

import json
import subprocess
import sys

from genreg import kernels
from genreg.bench_report import format_table, run_benchmarks


def test_report_has_every_case_and_a_table():
    report = run_benchmarks(small=True, compile=False, min_run_time=0.01)
    assert report["copy_bandwidth_gbs"] > 0
    ops = {row["op"] for row in report["rows"]}
    assert {"grad_penalty[gp] fwd+bwd", "grad_penalty[div] fwd+bwd", "gp_interpolate fwd",
            "conv1d_block fwd+bwd", "upconv1d_block fwd+bwd", "WGAN-GP critic step", "DAE training step",
            "adam step (checked)"} <= ops
    for row in report["rows"]:
        assert row["us"]["reference"] > 0
        if row["op"] == "WGAN-GP critic step":  # never compiled: double backward
            assert "double backward" in row["skipped"]["compiled"]
        elif row["op"] == "adam step (checked)":  # an optimiser update: not compiled
            assert "optimiser step" in row["skipped"]["compiled"]
        else:
            assert row["skipped"]["compiled"] == "skipped (--no-compile)"
        if kernels.extension_state().loaded:
            assert "fused" in row["us"], row["skipped"]  # a fused result that failed its check lands in skipped
        if row["bytes"]:
            assert row["gbs"]["fused" if "fused" in row["us"] else "reference"] > 0
        else:
            assert "gbs" not in row  # whole steps: compute-bound, no bandwidth figure
    table = format_table(report)
    assert "| grad_penalty[gp] fwd+bwd" in table and "memory bandwidth (large copy)" in table
    assert "| WGAN-GP critic step" in table


def test_bench_is_a_cli_command():
    done = subprocess.run([sys.executable, "-m", "genreg.cli", "bench", "--help"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and "--quick" in done.stdout and "--json" in done.stdout
