#!/usr/bin/env bash
# The GPU checks in one run, for a machine with an NVIDIA GPU and JAX with CUDA (never run by CI):
#   1. the kernel on the GPU against the CPU, same seed (benchmarks/cpu_gpu_agreement.py);
#   2. the scenario benchmark at its GPU default, 10,000,000 scenarios (benchmarks/scenarios.py);
#   3. the kernel's tests with JAX on the GPU;
#   4. the benchmark again with a chunk 8 times the default (does the GPU want larger chunks?).
# Each step has its own time limit and log; a failed step does not stop the later ones.
#
#   OUT=/tmp/gpu bash benchmarks/gpu_check.sh
#
# Python packages the machine lacks can travel as wheels in .whl/ (installed to /tmp/site first).
set -u
OUT=${OUT:-/tmp/axiom-gpu}
PY=${PYTHON:-python3}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
if [ -d .whl ]; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl || exit 1
    export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}

step() {  # step NAME SECONDS COMMAND...: run with a limit, log to $OUT/NAME.log, report the status
    local name=$1 limit=$2
    shift 2
    echo "=== $name (limit ${limit}s)"
    local start=$SECONDS
    timeout "$limit" "$@" >"$OUT/$name.log" 2>&1
    local rc=$?
    echo "=== $name: exit $rc after $((SECONDS - start)) s"
    tail -n 25 "$OUT/$name.log"
}

{ nvidia-smi -L; "$PY" -c "import jax, numpy; print('jax', jax.__version__, 'numpy', numpy.__version__, jax.devices())"; } 2>&1 | tee "$OUT/env.log"
step agreement 90 "$PY" benchmarks/cpu_gpu_agreement.py --n-scenarios 20000 --out "$OUT/agreement.json"
step bench 210 "$PY" benchmarks/scenarios.py --out "$OUT/scenarios-gpu.json"
XLA_PYTHON_CLIENT_PREALLOCATE=false step tests 150 "$PY" -m pytest -v -p no:cacheprovider \
    tests/unit/test_chunking.py tests/unit/test_plackett_luce.py tests/unit/test_archetypes.py \
    tests/unit/test_chaos_gamma.py tests/unit/test_team_shocks.py tests/unit/test_calibrated_slates.py \
    tests/unit/test_validation.py tests/property/test_kernel_properties.py tests/unit/test_metrics.py
step bench-chunk 120 "$PY" benchmarks/scenarios.py --chunk-size 524288 --repeats 3 \
    --numpy-scenarios 20000 --out "$OUT/scenarios-gpu-chunk512k.json"
