"""Stopping a product process the way an operator would."""

from __future__ import annotations

import subprocess

STOP_TIMEOUT_S = 30


def stop_gracefully(process: subprocess.Popen[str], timeout_s: float = STOP_TIMEOUT_S) -> None:
    """A failed test still stops the product gracefully (SIGTERM), so that it
    stops the embedded servers it started; kill only if it hangs."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout_s)
