#!/usr/bin/env bash
# The CUDA check: correctness tier and benchmarks (seed and deepbench sizes) on the GPU, in one
# serial pytest run that leaves one run file, then the report. Usage:
#   .ci/cuda-check.sh OUTDIR [extra pytest args]
set -uo pipefail
out=${1:?usage: .ci/cuda-check.sh OUTDIR [pytest args]}
shift
mkdir -p "$out"
export PYTHONUNBUFFERED=1
py=${PYTHON:-python3}
nvidia-smi -L
"$py" -c "import torch, pytest, pytest_benchmark as b; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'pytest', pytest.__version__, 'pytest-benchmark', b.__version__)"
start=$(date +%s)
"$py" -m pytest suite -m "correctness or speed" --device cuda --size chapter,deepbench --min-time 0.2 \
    -q -p no:cacheprovider --benchmark-quiet --benchmark-columns=median,iqr,rounds \
    --benchmark-json="$out/cuda.json" --run-label "cuda-torch$("$py" -c 'import torch; print(torch.__version__)')" \
    "$@" >"$out/pytest.log" 2>&1
status=$?
echo "pytest exit $status after $(( $(date +%s) - start )) s"
grep -E "passed|failed|error" "$out/pytest.log" | tail -3
grep -E "^(FAILED|ERROR)" "$out/pytest.log" | head -20
"$py" -m rnnsuite build "$out/cuda.json" --out "$out/report" --force >"$out/report.log" 2>&1 && tail -40 "$out/report.log"
exit $status
