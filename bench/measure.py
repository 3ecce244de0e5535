"""Running a command in a child process and measuring its wall time and peak resident memory."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass


@dataclass
class Run:
    seconds: float
    peak_rss_mb: float
    output: str


def run_measured(args: list[str], env: dict[str, str]) -> Run:
    """Run `args` and return its wall time and the peak RSS of that child alone.

    os.wait4 gives the resource usage of exactly this child, where getrusage(RUSAGE_CHILDREN) would
    report the largest of all children so far (a migrate run before it, for instance).
    """
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        process = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
        _pid, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        output = out.read().decode(errors="replace")
    if process.returncode:
        sys.stderr.write(output)
        raise SystemExit(f"{' '.join(args)} failed with exit code {process.returncode}")
    # ru_maxrss is in kilobytes on Linux (bytes on macOS).
    divisor = 1024 * 1024 if sys.platform == "darwin" else 1024
    return Run(seconds, usage.ru_maxrss / divisor, output)


def last_json(run: Run) -> dict:
    """The figures a bench child printed as one JSON document on its last JSON line."""
    for line in reversed(run.output.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise SystemExit(f"no figures in the output:\n{run.output}")


def median_ms(function, repeat: int) -> float:
    """The median wall time of `function` over `repeat` runs after one warm-up run, in milliseconds."""
    function()  # warm the page cache and Django's query compilation
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)
