#!/usr/bin/env bash
# The steps of .github/workflows/matrix.yml and of the sharded count gate in .github/workflows/ab.yml, one
# sub-command each: the workflows call this script, and .ci/matrix_local.sh calls the same sub-commands
# on this machine, so what is tested locally is what CI runs.
#
#   run PYTHON LABEL SHARD OUT [pytest args...]   one job of the matrix: its shard of the selection -> OUT/run.json
#   publish PYTHON ARTIFACTS STORE SITE           merge each group's shards, add them to STORE, build SITE/report
#                                                 (--by torch) and SITE/history
#   gate-merge PYTHON ARTIFACTS OUT [gate args]   merge the shards' A and B of the count gate, then judge them as one
#                                                 family (exit status: rnnsuite compare's)
#
# PYTHON runs the rnnsuite command as `PYTHON -m rnnsuite` (the interpreter of the venv it is installed in).
#
# ARTIFACTS holds one folder per job, named GROUP-shardI (the matrix job's artifact names).
set -euo pipefail

step=${1:?usage: matrix_steps.sh run|publish|gate-merge ...}
shift

groups() {  # the GROUP of each ARTIFACTS/GROUP-shardI folder, once each
    find "$1" -mindepth 1 -maxdepth 1 -type d -name '*-shard*' -printf '%f\n' | sed 's/-shard[0-9]*$//' | sort -u
}

case "$step" in
run)
    py=$1 label=$2 shard=$3 out=$4
    shift 4
    mkdir -p "$out"
    # The correctness tier and the seed-size benchmarks in one serial run, as make report runs them.
    "$py" -m pytest suite -m "correctness or speed" -q -p no:cacheprovider --benchmark-quiet \
        --size chapter --shard "$shard" --run-label "$label" --benchmark-json="$out/run.json" "$@"
    ;;
publish)
    py=$1 artifacts=$2 store=$3 site=$4
    mkdir -p "$site" "$artifacts/merged"
    merged=()
    for group in $(groups "$artifacts"); do
        "$py" -m rnnsuite merge "$artifacts/merged/$group.json" "$artifacts/$group"-shard*/run.json --force
        "$py" -m rnnsuite store add "$store" "$artifacts/merged/$group.json"
        merged+=("$artifacts/merged/$group.json")
    done
    test ${#merged[@]} -gt 0 || { echo "error: no GROUP-shardI folders in $artifacts" >&2; exit 2; }
    if [ ${#merged[@]} -gt 1 ]; then by=(--by torch); else by=(); fi
    "$py" -m rnnsuite build "${merged[@]}" "${by[@]}" --out "$site/report" --force
    "$py" -m rnnsuite history "$store" --machine all --out "$site/history" --force
    ;;
gate-merge)
    py=$1 artifacts=$2 out=$3
    shift 3
    mkdir -p "$out"
    for side in a b; do
        "$py" -m rnnsuite merge "$out/$side.json" "$artifacts"/*-shard*/"$side.json" --force
    done
    "$py" -m rnnsuite compare "$out/a.json" "$out/b.json" --markdown "$out/compare.md" "$@"
    ;;
*)
    echo "error: unknown step $step (run, publish, gate-merge)" >&2
    exit 2
    ;;
esac
