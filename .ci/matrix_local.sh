#!/usr/bin/env bash
# The matrix workflow (.github/workflows/matrix.yml) and the sharded count gate (.github/workflows/ab.yml) on
# this machine, through the same .ci/matrix_steps.sh sub-commands the workflows call:
#   1. a "matrix" of the torch versions found here (the project's .venv, and .tox/torch2.14 and .tox/torch2.15
#      where present) x one runner (this machine) x 2 shards, each job writing GROUP-shardI/run.json;
#   2. the publish job: merge, store add, report --by torch, history;
#   3. the count gate over 2 shard jobs (A and B the same interpreter), merged and judged once
#      (skipped without valgrind, or with MATRIX_LOCAL_GATE=0).
# A small selection keeps it to minutes (MATRIX_LOCAL_K replaces its -k); MATRIX_LOCAL_GATE=0 skips step 3,
# MATRIX_LOCAL_MATRIX=0 steps 1 and 2. Output in OUT (default out/matrix-local).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-out/matrix-local}
steps=.ci/matrix_steps.sh
sel=(--device cpu --dtype float32 --kernel vendor --min-time 0.1 --no-cold --threads 1
     -k "${MATRIX_LOCAL_K:-nn_lstm and not bidir and not proj and not packed}")

if [ "${MATRIX_LOCAL_MATRIX:-1}" != 0 ]; then
rm -rf "$out/artifacts" "$out/store" "$out/site"
mkdir -p "$out/artifacts"
pythons=(.venv/bin/python)
for v in 2.14 2.15; do [ -x ".tox/torch$v/bin/python" ] && pythons+=(".tox/torch$v/bin/python"); done
for py in "${pythons[@]}"; do
    torch=$("$py" -c "import torch; print(torch.__version__.split('+')[0])")
    for shard in 1 2; do
        job="$out/artifacts/local-torch$torch-shard$shard"
        echo "== job: torch $torch, shard $shard/2"
        "$steps" run "$py" "local-torch$torch" "$shard/2" "$job" "${sel[@]}" || test -s "$job/run.json"
    done
done

echo "== publish"
"$steps" publish .venv/bin/python "$out/artifacts" "$out/store" "$out/site"

# The merged run of each version holds exactly the benchmarks of an unsharded run (the shard test proves
# the selection; this checks the files the publish step made).
for merged in "$out"/artifacts/merged/*.json; do
    .venv/bin/python - "$merged" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
keys = [b["extra_info"]["key"] for b in data["benchmarks"]]
assert len(keys) == len(set(keys)), "a benchmark twice"
assert data["rnnsuite"]["merged_from"] and data["rnnsuite"]["shard"] is None
print(f"{sys.argv[1]}: {len(keys)} benchmarks from {len(data['rnnsuite']['merged_from'])} shards")
PY
done
fi

if [ "${MATRIX_LOCAL_GATE:-1}" != 0 ] && command -v valgrind >/dev/null; then
    echo "== count gate: 2 shard jobs, then one judgement"
    rm -rf "$out/gate"
    for shard in 1 2; do
        status=0
        .venv/bin/rnnsuite ab --metric instructions --a .venv/bin/python --b .venv/bin/python \
            --out "$out/gate/artifacts/ab-instructions-shard$shard" --no-checks -m speed --device cpu --size chapter \
            --dtype float32 -k "nn_rnn or nn_gru" --pass fwd --shard "$shard/2" || status=$?
        case "$status" in 0|1|3) ;; *) echo "error: shard $shard of the count gate failed ($status)" >&2; exit 2 ;; esac
    done
    status=0
    "$steps" gate-merge .venv/bin/python "$out/gate/artifacts" "$out/gate/merged" || status=$?
    echo "count gate on the merged shards: exit $status (A and B are the same interpreter: 0 expected)"
    test "$status" = 0
fi
echo "matrix-local: done; site in $out/site"
