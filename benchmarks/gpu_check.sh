# GPU check of issue 9 (run from the repository root; about 4 minutes on an H200, under 5):
#   1. bench_predict, fp32 and fast, outputs npy,png,overlay: `asdgaze predict` on N generated images
#      (300, 768x1024, batch 32) against the model-only rate measured in the same run;
#   2. bench_predict, fp32, outputs npy only (separates the PNG / overlay writers from the rest),
#      with the start-up steps (import / CUDA init / load / build / first batch) in a fresh process.
# Each predict run also prints its own timeline (model loaded, first batch, last batch, writes done).
# Figures go to stdout and, if $OUT is set, to $OUT/*.json and $OUT/*.txt.
# PROFILE=0 skips step 0 (benchmarks/host_profile.py), NPY_ONLY=0 skips step 2, STARTUP=0 its start-up steps;
# WORKERS_SWEEP="4 8" adds fp32 runs at those predict --workers (is the model's thread short of CPU?).
# Smaller on CPU:  PY=.venv/bin/python DEVICE=cpu N=4 N_SMALL=1 SIZE=128x160 BATCH=2 bash benchmarks/gpu_check.sh
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:src
fi
export PYTHONPATH=${PYTHONPATH:-src}
set -uo pipefail
PY=${PY:-python3}
OUTDIR=${OUT:-$(mktemp -d)}
mkdir -p "$OUTDIR"
DEVICE=${DEVICE:-auto}
N=${N:-300}; N_SMALL=${N_SMALL:-32}; SIZE=${SIZE:-768x1024}; BATCH=${BATCH:-32}
echo "== nvidia-smi"; nvidia-smi --query-gpu=name,memory.total --format=csv 2>/dev/null || echo "no nvidia-smi"
echo "== CPU cores: $(nproc)"
echo "== synthetic checkpoint (seed 0)"
WEIGHTS=${WEIGHTS:-/tmp/asdgaze_synth_seed0.pth}
[ -f "$WEIGHTS" ] || "$PY" -c "import sys; sys.path.insert(0, 'benchmarks'); from pathlib import Path; \
from bench_deepgaze import synthetic_checkpoint; synthetic_checkpoint(Path('$WEIGHTS'))"
COMMON=(--device "$DEVICE" --n "$N" --n-small "$N_SMALL" --size "$SIZE" --batch-size "$BATCH" --weights "$WEIGHTS")
if [ "${PROFILE:-1}" = 1 ]; then
  echo "== 0. host_profile: each host step alone, and the model beside busy decoder / writer threads"
  timeout 150 "$PY" benchmarks/host_profile.py --n 96 --size "$SIZE" --batch "$BATCH" --device "$DEVICE" \
    --weights "$WEIGHTS" --json "$OUTDIR/host_profile.json" 2>&1 | tee "$OUTDIR/host_profile.txt"
  echo "host_profile exit status ${PIPESTATUS[0]} (124: timed out)"
fi
echo "== 1. bench_predict fp32 + fast, outputs npy,png,overlay"
timeout 160 "$PY" benchmarks/bench_predict.py "${COMMON[@]}" --precision fp32 fast --outputs npy,png,overlay \
  --json "$OUTDIR/bench_predict.json" 2>&1 | tee "$OUTDIR/bench_predict.txt"
echo "bench_predict (all outputs) exit status ${PIPESTATUS[0]} (124: timed out)"
if [ "${NPY_ONLY:-1}" = 1 ]; then
  echo "== 2. bench_predict fp32, outputs npy only, and the start-up steps"
  timeout 150 "$PY" benchmarks/bench_predict.py "${COMMON[@]}" --precision fp32 --outputs npy $([ "${STARTUP:-1}" = 1 ] && echo --startup) \
    --json "$OUTDIR/bench_predict_npy.json" 2>&1 | tee "$OUTDIR/bench_predict_npy.txt"
  echo "bench_predict (npy only) exit status ${PIPESTATUS[0]} (124: timed out)"
fi
if [ -n "${WORKERS_SWEEP:-}" ]; then  # e.g. WORKERS_SWEEP="4 8": fp32, all outputs, at each --workers
  for wk in $WORKERS_SWEEP; do
    echo "== 3. bench_predict fp32, outputs npy,png,overlay, --workers $wk"
    timeout 120 "$PY" benchmarks/bench_predict.py "${COMMON[@]}" --precision fp32 --outputs npy,png,overlay \
      --workers "$wk" --json "$OUTDIR/bench_predict_workers_$wk.json" 2>&1 | tee "$OUTDIR/bench_predict_workers_$wk.txt"
  done
fi
echo "figures in $OUTDIR"
