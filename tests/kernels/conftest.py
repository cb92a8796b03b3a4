"""Fixtures for the kernel tests: which fused ops this installation has.

A test that needs a fused kernel skips (saying why) when the extension is not
loaded, unless GENREG_EXPECT_EXT=1 (set by `make test`), where that is a failure.
"""

import os

import pytest


def _expect_ext() -> bool:
    return os.environ.get("GENREG_EXPECT_EXT", "").strip().lower() in ("1", "true", "yes", "on")


@pytest.fixture(scope="session")
def fused_cpu():
    """Returns a function op_name -> None that skips unless op_name has a fused CPU kernel."""
    from genreg import kernels

    def need(op: str) -> None:
        if kernels.has_kernel(op, "cpu"):
            return
        state = kernels.extension_state()
        why = state.error if not state.loaded else f"the extension has no CPU kernel for {op}"
        if _expect_ext():
            pytest.fail(f"GENREG_EXPECT_EXT=1 but {op} is not fused: {why}")
        pytest.skip(f"{op} has no fused CPU kernel here: {why}")

    return need
