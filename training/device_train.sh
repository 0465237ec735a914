#!/usr/bin/env bash
# A reader training run for the GPU device machine, in one call (issue 15: the CPU stages plateaued).
#
# Here, once:   bash training/device_train.sh prepare     # .device/: the SQuAD files and the wheels it lacks
# There:        run(command="bash training/device_train.sh run", carry=[".device"], timeout_s=600)
# Here, after:  python -m training.pack unpack /work/.device/<files_at> runs/gpu/final
#               then training.candidates / training.ship / training.open_setting as in the model card.
#
# The device machine has python3 with torch, transformers, tokenizers, safetensors, onnx and tqdm, but not
# rank_bm25, and ../shared does not travel: `prepare` copies what the run reads into .device/ (ignored by git,
# never committed). The run starts from the served reader's weights (training.from_onnx: the served model is
# in the tree, its fp32 checkpoint is too large to travel) and trains on the whole train-v2.0-partial mix plus
# the 12 spent dev articles, tune and report articles excluded by name; the weights come back in fp16 parts
# (training.pack), since files from the machine are capped at 16 MiB each.
# Knobs (environment): EPOCHS LR BATCH SEED MAX_SEQ_LEN DOC_STRIDE MAX_EXAMPLES MAX_STEPS DEVICE PY DATA WORK.
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in
prepare)
    PY=${PY:-.venv/bin/python}
    mkdir -p .device/data .device/whl
    install -m 0644 ../shared/data/squad/train-v2.0-partial.json.gz ../shared/data/squad/dev-v2.0-public.json.gz \
        .device/data/
    # The version the project's environment runs with (pyproject.toml asks only for a minimum).
    bm25=$("$PY" -c "import importlib.metadata as m; print(m.version('rank-bm25'))")
    "$PY" -m pip download -q --no-deps --only-binary=:all: -d .device/whl "rank-bm25==$bm25"
    du -sh .device
    ;;
run)
    PY=${PY:-python3}
    : "${OUT:?OUT must name the folder whose files come back}"
    if ! "$PY" -c "import rank_bm25" 2>/dev/null; then
        "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .device/whl/*.whl
        export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
    fi
    work=${WORK:-/tmp/device-train}
    data=${DATA:-.device/data}
    mkdir -p "$work"
    "$PY" -m training.from_onnx reader/models/minilm-newsqa "$work/init"
    extra=()
    # The articles never trained on come from training/splits.py, the one list the other commands use.
    # (An assignment, so that set -e stops the run if Python fails; a process substitution would not.)
    titles=$("$PY" -c "from training.splits import REPORT, TUNE; print('\n'.join(TUNE + REPORT))")
    mapfile -t excluded <<< "$titles"
    for title in "${excluded[@]}"; do extra+=(--exclude-title "$title"); done
    [ -n "${MAX_EXAMPLES:-}" ] && extra+=(--max-examples "$MAX_EXAMPLES")
    [ -n "${MAX_STEPS:-}" ] && extra+=(--max-steps "$MAX_STEPS")
    "$PY" -m cli.main train-reader \
        --train "$data/train-v2.0-partial.json.gz" --train "$data/dev-v2.0-public.json.gz" \
        --init "$work/init" --retrieval-negatives 0.05 --perturbed-negatives 0 \
        --epochs "${EPOCHS:-2}" --lr "${LR:-5e-5}" --warmup 0.1 --batch-size "${BATCH:-64}" \
        --max-seq-len "${MAX_SEQ_LEN:-384}" \
        --doc-stride "${DOC_STRIDE:-128}" --seed "${SEED:-21}" --device "${DEVICE:-cuda}" --precision bf16 \
        --checkpoint-every 100000 --output "$work/run" "${extra[@]}" 2>&1 | tee "$OUT/train.log"
    "$PY" -m training.pack pack "$work/run/final" "$OUT"
    ;;
*)
    echo "usage: $0 prepare|run" >&2
    exit 2
    ;;
esac
