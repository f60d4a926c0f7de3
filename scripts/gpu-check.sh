#!/usr/bin/env bash
# Grade every released assignment on a GPU: its solution and its released notebook (the stub,
# as a student gets it), with `autograder grade --device cuda`; print both scores and the seconds
# per submission.
#
# Made for a borrowed GPU machine: run it from a checkout with a Python that has torch and
# safetensors (and tqdm, which timm brings); no .venv, no nbformat/nbgrader and no bubblewrap
# are needed (grading reads v4 notebooks as JSON; without bubblewrap the grader says so loudly
# and grades in plain processes).
#
#   bash scripts/gpu-check.sh                                   # python3, --device cuda
#   DEVICE=cpu PYTHON=.venv/bin/python bash scripts/gpu-check.sh   # the same on a CPU
#   OUT=/tmp/gpu-check WORKERS=1 bash scripts/gpu-check.sh       # keep the results there
#
# The solution submission is solutions/<id>/examples/perfect/<id>.ipynb, or else the source
# notebook itself (its nbgrader markers are comments). Exit status 0 when every solution scores
# full marks and every stub 0; 1 otherwise; 2 when the machine cannot run the check.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
DEVICE=${DEVICE:-cuda}
WORKERS=${WORKERS:-2}
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/gpu-check.XXXXXX")}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

"$PYTHON" - "$DEVICE" <<'EOF' || exit 2
import importlib
import importlib.util
import platform
import shutil
import sys

device = sys.argv[1]
missing = [m for m in ("torch", "safetensors", "tqdm") if importlib.util.find_spec(m) is None]
if missing:
    sys.exit(f"gpu-check: {sys.executable} lacks {', '.join(missing)} (pip install them)")
import torch

if device.startswith("cuda") and not torch.cuda.is_available():
    sys.exit(f"gpu-check: --device {device}, but torch {torch.__version__} sees no CUDA device")
gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"


def importable(module: str) -> bool:
    try:
        importlib.import_module(module)
    except Exception:  # noqa: BLE001 - absent or broken: either way not used
        return False
    return True


optional = {m: importable(m) for m in ("nbformat", "torchvision", "timm")}
print(f"python {platform.python_version()} ({sys.executable}), torch {torch.__version__}, "
      f"CUDA {torch.version.cuda}, GPU: {gpu}")
print("installed: " + ", ".join(f"{m} {'yes' if ok else 'no'}" for m, ok in optional.items())
      + f"; bubblewrap {'yes' if shutil.which('bwrap') else 'no'}")
EOF

assignments=()
for released in assignments/*/*.ipynb; do
  id=$(basename "$(dirname "$released")")
  [ "$released" = "assignments/$id/$id.ipynb" ] && [ -f "solutions/$id/checks.py" ] || continue
  assignments+=("$id")
done
[ ${#assignments[@]} -gt 0 ] || { echo "gpu-check: no released assignments found" >&2; exit 2; }
echo "grading ${assignments[*]} on $DEVICE into $OUT"

for id in "${assignments[@]}"; do
  subs="$OUT/submissions/$id"
  mkdir -p "$subs/solution" "$subs/stub"
  if [ -f "solutions/$id/examples/perfect/$id.ipynb" ]; then
    cp "solutions/$id/examples/perfect/$id.ipynb" "$subs/solution/"
  else
    cp "solutions/$id/$id.ipynb" "$subs/solution/"
  fi
  cp "assignments/$id/$id.ipynb" "$subs/stub/"
  start=$(date +%s.%N)
  if ! "$PYTHON" -m autograder.cli grade "$id" "$subs" --out "$OUT/grades/$id" --device "$DEVICE" \
      --workers "$WORKERS" --quiet 2> "$OUT/$id.log"; then
    echo "gpu-check: grading $id failed; its log ($OUT/$id.log) ends:" >&2
    tail -n 20 "$OUT/$id.log" >&2
  fi
  echo "$id $(date +%s.%N) $start" >> "$OUT/wall.txt"
done

"$PYTHON" - "$OUT" "${assignments[@]}" <<'EOF'
import json
import sys
from pathlib import Path

out, ids = Path(sys.argv[1]), sys.argv[2:]
wall = {line.split()[0]: float(line.split()[1]) - float(line.split()[2])
        for line in (out / "wall.txt").read_text().splitlines()}
ok = True
print(f"\n{'assignment':<22} {'solution':>10} {'stub':>10} {'s/solution':>11} {'s/stub':>8} "
      f"{'wall s':>7}  checks ran on")
for a in ids:
    results = {}
    for student in ("solution", "stub"):
        path = out / "grades" / a / "results" / f"{student}.json"
        results[student] = json.loads(path.read_text()) if path.exists() else None
    sol, stub = results["solution"], results["stub"]

    def score(r):
        return "none" if r is None else f"{r['score']:g}/{r['max_score']:g}"

    def seconds(r):
        return "-" if r is None else f"{r['duration_s']:.2f}"

    devices = sorted({c["device"] for r in (sol, stub) if r for c in r["checks"]})
    print(f"{a:<22} {score(sol):>10} {score(stub):>10} {seconds(sol):>11} {seconds(stub):>8} "
          f"{wall.get(a, 0.0):>7.1f}  {'+'.join(devices) or '-'}")
    if sol is None or sol["status"] != "graded" or sol["score"] != sol["max_score"]:
        ok = False
        print(f"  SOLUTION: {sol['status'] + ' ' + sol['reason'] if sol else 'no result'}")
        for c in (sol or {}).get("checks", []):
            if not c["passed"]:
                key = f"{c['item']}/{c['check']}[{c['dtype'] or '-'},{c['device']}]"
                print(f"    {key}: {c['message'][:160]}")
    if stub is None or stub["score"] != 0:
        ok = False
        print(f"  STUB scores {score(stub)}, not 0")
sandbox = next((json.loads(p.read_text())["sandbox"]
                for p in sorted(out.glob("grades/*/results/*.json"))), "?")
print(f"\nsandbox: {sandbox}; results and feedback under {out}/grades/<id>/")
print("OK: every solution scores full marks and every stub 0" if ok else "FAILED (see above)")
sys.exit(0 if ok else 1)
EOF
