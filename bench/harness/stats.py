"""Percentiles the way the table reports them (nearest rank), and the median of interleaved rounds,
in one place for every section."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from typing import Any, Protocol, TypeVar


def percentile(values: Iterable[float], q: float) -> float | None:
    """The nearest-rank ``q``-th percentile (0 < q ≤ 100); None for no values."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def summary_ms(seconds: Iterable[float]) -> dict[str, float | None]:
    """p50, p90, p99 and max of durations given in seconds, in milliseconds."""
    ms = sorted(s * 1000 for s in seconds)
    return {
        "p50": percentile(ms, 50),
        "p90": percentile(ms, 90),
        "p99": percentile(ms, 99),
        "max": ms[-1] if ms else None,
    }


class _Round(Protocol):
    @property
    def rate(self) -> float | None: ...

    problems: list[str]
    round_rates: list[float]


R = TypeVar("R", bound=_Round)


def median_round(results: Sequence[R]) -> R:
    """The round with the median rate (of those that measured one), carrying every round's rate and
    every round's problems, so that a round that failed its verification fails the figure."""
    measured = sorted((r for r in results if r.rate is not None), key=lambda r: r.rate or 0.0)
    chosen = measured[len(measured) // 2] if measured else results[0]
    labelled = len(results) > 1
    changes: dict[str, Any] = {
        "round_rates": [r.rate for r in results if r.rate is not None],
        "problems": [
            f"round {i}: {p}" if labelled else p for i, r in enumerate(results, 1) for p in r.problems
        ],
    }
    return dataclasses.replace(chosen, **changes)  # type: ignore[type-var]
