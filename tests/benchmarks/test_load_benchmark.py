"""The load benchmark's SLO line: what counts as a class count the stack carries."""

from __future__ import annotations

import pytest

from benchmarks.load import meets_slo


@pytest.mark.parametrize(
    ("processed", "p95", "kept"),
    [
        (1.0, 900.0, True),
        (0.99, 1000.0, True),  # both at the line
        (0.985, 500.0, False),  # fast, but frames went unread
        (1.0, 1000.1, False),  # all read, but late
        (1.0, None, False),  # nothing measured
        (0.0, None, False),  # nothing processed at all
    ],
)
def test_the_slo_needs_both_the_share_and_the_p95(processed: float, p95: float | None, kept: bool) -> None:
    assert meets_slo({"processed_share": processed, "received_to_stored_ms": {"p50": None, "p95": p95, "p99": None}}) is kept
