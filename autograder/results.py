"""Per-submission result records (written atomically) and the gradebook built from them."""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

STATUSES = ("graded", "review", "error", "timeout", "invalid", "missing")
# Statuses whose score stands: ``review`` is graded and scored, but held for the instructor
# because the notebook's loaded code reaches into private machinery (``SubmissionResult.review``).
SCORED = ("graded", "review")
GRADEBOOK_COLUMNS = ["student_id", "assignment", "score", "max_score", "status", "reason"]


@dataclass
class CheckResult:
    item: str
    check: str
    description: str
    dtype: str | None
    device: str
    points: float
    max_points: float
    passed: bool
    message: str = ""
    seed: int = 0
    duration_s: float = 0.0
    notes: list[str] = field(default_factory=list)
    internal: str | None = None  # for the instructor only: a check's own traceback

    @property
    def key(self) -> str:
        tag = ",".join(x for x in (self.dtype, self.device) if x)
        return f"{self.item}/{self.check}[{tag}]"


@dataclass
class SubmissionResult:
    student_id: str
    assignment: str
    status: str
    score: float
    max_score: float
    reason: str = ""
    checks: list[CheckResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    items_missing: list[str] = field(default_factory=list)
    # for the instructor only: the lines that put the submission on review, each
    # {"cell", "line", "source", "what"} (never shown to the student)
    review: list[dict] = field(default_factory=list)
    source_file: str = ""
    source_sha256: str = ""
    seed: int = 0
    device: str = "cpu"
    sandbox: str = ""
    grader_version: str = ""
    duration_s: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> SubmissionResult:
        d = dict(d)
        d["checks"] = [CheckResult(**c) for c in d.get("checks", [])]
        return cls(**d)

    def item_scores(self) -> dict[str, tuple[float, float]]:
        out: dict[str, tuple[float, float]] = {}
        for c in self.checks:
            got, total = out.get(c.item, (0.0, 0.0))
            out[c.item] = (got + c.points, total + c.max_points)
        return out


def review_reason(review: list[dict], limit: int = 300) -> str:
    """The gradebook's reason for a submission on review: the lines, quoted, for the instructor."""
    quoted = "; ".join(f"cell {f['cell']}, line {f['line']}: {f['source']} ({f['what']})"
                       for f in review)
    text = f"held for review: the notebook's code reaches into private machinery: {quoted}"
    return text if len(text) <= limit else text[:limit - 3] + "..."


def write_atomic(path: Path, text: str) -> None:
    """Write a file so that readers see the old or the new content, never a partial one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


class ResultStore:
    """The ``results/`` folder of an output directory: one JSON file per student."""

    def __init__(self, out_dir: Path):
        self.out_dir = Path(out_dir)
        self.dir = self.out_dir / "results"

    def path(self, student_id: str) -> Path:
        return self.dir / f"{student_id}.json"

    def save(self, result: SubmissionResult) -> None:
        write_atomic(self.path(result.student_id), json.dumps(result.to_dict(), indent=1) + "\n")

    def load(self, student_id: str) -> SubmissionResult | None:
        try:
            return SubmissionResult.from_dict(json.loads(self.path(student_id).read_text()))
        except (OSError, ValueError, TypeError, KeyError):
            return None

    def all(self) -> list[SubmissionResult]:
        out = []
        for p in sorted(self.dir.glob("*.json")):
            r = self.load(p.stem)
            if r is not None:
                out.append(r)
        return out

    def write_gradebook(self, results: list[SubmissionResult]) -> Path:
        """grades.csv: one row per student, sorted by student id."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(GRADEBOOK_COLUMNS)
        for r in sorted(results, key=lambda r: r.student_id):
            w.writerow([r.student_id, r.assignment, _num(r.score), _num(r.max_score), r.status,
                        r.reason])
        path = self.out_dir / "grades.csv"
        write_atomic(path, buf.getvalue())
        return path


def _num(x: float) -> str:
    return f"{x:g}" if float(x).is_integer() else f"{x:.2f}"
