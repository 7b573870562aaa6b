"""The one result printer of the benchmarks: measured figures, ratios against their targets, and an exit code.

A benchmark exits non-zero when any ratio misses its stated target, so `make bench` tells a regression
from noise only by rerunning, never by reading.
"""

from __future__ import annotations

import resource
import statistics
import subprocess
import sys
import time
import typing as t


class Timing(t.NamedTuple):
    """One run of a command: wall seconds, and CPU seconds of it and its children (hardly depends on the machine's load)."""

    wall: float
    cpu: float


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_run(argv: t.Sequence[str], env: t.Mapping[str, str]) -> Timing:
    """Run argv with env (stdout discarded; a non-zero exit raises) and time it.

    CPU time is read from RUSAGE_CHILDREN, which counts a child once it has been waited for, so runs must
    not overlap (the benchmarks run one command at a time).
    """
    started, cpu_started = time.perf_counter(), _children_cpu_seconds()
    subprocess.run(list(argv), env=dict(env), check=True, stdout=subprocess.DEVNULL)
    return Timing(time.perf_counter() - started, _children_cpu_seconds() - cpu_started)


def paired_ratio(numerator: t.Sequence[float], denominator: t.Sequence[float]) -> float:
    """The median of the per-round ratios of two commands run in turn, round after round.

    Each round's two runs see the machine in about the same state, so its ratio cancels the load of that moment;
    the median then drops the rounds a burst split. A ratio of two separate best-of figures pairs two lucky
    moments instead, and moves as much as the machine does.
    """
    return statistics.median(a / b for a, b in zip(numerator, denominator))


class Report:
    """Lines of one benchmark's result; ratios carry an optional bound and are checked when printed."""

    def __init__(self, title: str) -> None:
        self.lines = [title]
        self.missed: list[str] = []

    def figure(self, label: str, value: float, unit: str = "s", note: str = "") -> None:
        self.lines.append(f"  {label + ':':<36} {value:9.2f} {unit}{'   ' + note if note else ''}")

    def ratio(self, label: str, value: float, at_most: t.Optional[float] = None, at_least: t.Optional[float] = None) -> None:
        """A ratio and its target; with no bound it is informational."""
        if at_most is not None:
            target, met = f"target <= {at_most:g}x", value <= at_most
        elif at_least is not None:
            target, met = f"target >= {at_least:g}x", value >= at_least
        else:
            target, met = "informational", True
        self.lines.append(f"  {label + ':':<36} {value:9.3f}x  ({target}){'' if met else '  MISSED'}")
        if not met:
            self.missed.append(f"{label} {value:.3f}x ({target})")

    def check(self, label: str, met: bool, detail: str) -> None:
        """A condition that is not a ratio, such as zero API requests from a warm cache."""
        self.lines.append(f"  {label + ':':<36} {detail}{'' if met else '  MISSED'}")
        if not met:
            self.missed.append(f"{label}: {detail}")

    def finish(self) -> int:
        """Print the report; 1 when a target was missed, else 0."""
        print("\n".join(self.lines))
        if self.missed:
            print(f"{self.lines[0]}: missed {'; '.join(self.missed)}", file=sys.stderr)
            return 1
        return 0
