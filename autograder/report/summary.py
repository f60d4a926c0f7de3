"""The class report of a graded folder: summary, score histogram, per-check pass rates, exports."""

from __future__ import annotations

from pathlib import Path


def write_report(out_dir: Path) -> dict[str, Path]:
    raise NotImplementedError
