"""Finding the submissions of an assignment in a folder.

Accepted layouts: ``<dir>/<student_id>/<id>.ipynb`` and nbgrader's
``<dir>/[submitted/]<student_id>/<id>/*.ipynb``. A student folder without the notebook is
``missing``; a notebook under another name is used when it is the only one in the folder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_SAFE = re.compile(r"[^A-Za-z0-9_.@+-]")


@dataclass(frozen=True)
class Submission:
    student_id: str
    path: Path | None  # None: the student's folder holds no notebook for this assignment
    note: str = ""


def safe_id(name: str) -> str:
    """A student id usable as a file name (unsafe characters become '_')."""
    cleaned = _SAFE.sub("_", name).lstrip(".")
    return cleaned or "_"


def discover(root: Path, assignment_id: str) -> list[Submission]:
    root = Path(root)
    if (root / "submitted").is_dir():
        root = root / "submitted"
    subs: dict[str, Submission] = {}
    for student_dir in sorted(p for p in root.iterdir() if p.is_dir() and not
                              p.name.startswith(".")):
        sid = safe_id(student_dir.name)
        candidates = [student_dir / f"{assignment_id}.ipynb",
                      student_dir / assignment_id / f"{assignment_id}.ipynb"]
        path = next((c for c in candidates if c.is_file()), None)
        note = ""
        if path is None:
            others = sorted(student_dir.glob("*.ipynb")) + sorted(
                (student_dir / assignment_id).glob("*.ipynb"))
            others = [o for o in others if ".ipynb_checkpoints" not in o.parts]
            if len(others) == 1:
                path, note = others[0], f"graded {others[0].name} (expected {assignment_id}.ipynb)"
        if sid in subs:
            sid = f"{sid}_{len(subs)}"
        subs[sid] = Submission(sid, path, note)
    return list(subs.values())
