"""The safety record as the pages show it (``templates/safety/_records.html``): the therapist's
page and the school office."""

from __future__ import annotations

from typing import Any

from registry.selectors import SafetyRecord


def with_periods(records: list[SafetyRecord]) -> list[dict[str, Any]]:
    """Each record with its two periods, labelled, in the order the table shows them."""
    return [
        {**vars(record), "periods": [("Last 90 days", record.last_90_days), ("All time", record.all_time)]}
        for record in records
    ]
