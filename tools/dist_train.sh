#!/usr/bin/env bash
# Distributed training on one or more nodes, as mmseg's tools/dist_train.sh.
#
# Usage: tools/dist_train.sh CONFIG GPUS [train.py args...]
#   GPUS: processes on this node (one per GPU; on CPU, with the gloo backend
#   set in the config's env_cfg.dist_cfg, any number).
# Env: NNODES (1), NODE_RANK (0), MASTER_ADDR (127.0.0.1), PORT (on one
#   node: a free port, so that jobs never collide; on several: 29500),
#   PYTHON (python): the interpreter, e.g. .venv/bin/python.
set -euo pipefail

if [ "$#" -lt 2 ]; then
    echo "usage: $0 CONFIG GPUS [train.py args...]" >&2
    exit 2
fi
CONFIG=$1
GPUS=$2
if ! [[ "$GPUS" =~ ^[1-9][0-9]*$ ]]; then
    echo "error: GPUS must be a positive integer, got '$GPUS'" >&2
    exit 2
fi
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
PYTHON=${PYTHON:-python}
ROOT="$(cd "$(dirname "$0")/.." && pwd)"

if [ -z "${PORT:-}" ] && [ "$NNODES" = 1 ]; then
    # torch.distributed.run binds a free port itself (no fixed port that a
    # second job on this machine could hold)
    RENDEZVOUS=(--standalone)
else
    RENDEZVOUS=(--nnodes="$NNODES" --node_rank="$NODE_RANK"
                --master_addr="$MASTER_ADDR" --master_port="${PORT:-29500}")
fi

PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" \
"$PYTHON" -m torch.distributed.run \
    "${RENDEZVOUS[@]}" \
    --nproc_per_node="$GPUS" \
    "$ROOT/tools/train.py" \
    "$CONFIG" \
    --launcher pytorch "${@:3}"
