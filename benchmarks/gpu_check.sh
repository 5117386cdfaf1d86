python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:src
# GPU check of issue 9 (run from the repository root; < 6 minutes on an H100):
#   1. bench_predict: `asdgaze predict` on N generated images (300, 768x1024, batch 32) against the
#      model-only rate measured in the same run, fp32 (exact) and the fast mode;
#   2. precision_check: fp32 / tf32 / fp16 / bf16 through `evaluate` (demo + synthetic set).
# Figures go to stdout and, if $OUT is set, to $OUT/*.json and $OUT/*.txt.
# Smaller on CPU:  PY=.venv/bin/python DEVICE=cpu N=4 N_SMALL=1 SIZE=128x160 BATCH=2 PREC_N=1 PREC_DEMO=no bash benchmarks/gpu_check.sh
export PYTHONPATH=${PYTHONPATH:-src}
set -uo pipefail
PY=${PY:-python3}
OUTDIR=${OUT:-$(mktemp -d)}
mkdir -p "$OUTDIR"
DEVICE=${DEVICE:-auto}
N=${N:-300}; N_SMALL=${N_SMALL:-32}; SIZE=${SIZE:-768x1024}; BATCH=${BATCH:-32}
PREC_N=${PREC_N:-32}; PREC_DEMO=${PREC_DEMO:-yes}
echo "== nvidia-smi"; nvidia-smi --query-gpu=name,memory.total --format=csv 2>/dev/null || echo "no nvidia-smi"
echo "== synthetic checkpoint (seed 0)"
WEIGHTS=${WEIGHTS:-/tmp/asdgaze_synth_seed0.pth}
[ -f "$WEIGHTS" ] || "$PY" -c "import sys; sys.path.insert(0, 'benchmarks'); from pathlib import Path; \
from bench_deepgaze import synthetic_checkpoint; synthetic_checkpoint(Path('$WEIGHTS'))"
echo "== bench_predict (fp32, fast)"
timeout 200 "$PY" benchmarks/bench_predict.py --device "$DEVICE" --n "$N" --n-small "$N_SMALL" --size "$SIZE" \
  --batch-size "$BATCH" --precision fp32 fast --weights "$WEIGHTS" --json "$OUTDIR/bench_predict.json" 2>&1 | tee "$OUTDIR/bench_predict.txt"
echo "bench_predict exit status ${PIPESTATUS[0]} (124: timed out)"
echo "== precision_check"
DEMO_FLAG=""; [ "$PREC_DEMO" = "no" ] && DEMO_FLAG="--no-demo"
timeout 130 "$PY" benchmarks/precision_check.py --device "$DEVICE" --n "$PREC_N" $DEMO_FLAG --weights "$WEIGHTS" \
  --json "$OUTDIR/precision.json" 2>&1 | tee "$OUTDIR/precision.txt"
echo "precision_check exit status ${PIPESTATUS[0]} (124: timed out)"
echo "figures in $OUTDIR"
