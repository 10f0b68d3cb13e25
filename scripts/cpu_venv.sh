# The shared body of the CPU engine set-ups (setup_vllm_cpu.sh, setup_verl_cpu.sh), sourced with their
# arguments after they set LABEL, VENV (the default folder), STAMP_NAME, PROBE (what a ready
# environment imports), REPORT (Python printing the versions) and PACKAGES (pip arguments).
# Idempotent: a complete environment is left as it is; --force rebuilds it; another argument is the folder.
FORCE=0
for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    *) VENV="$arg" ;;
  esac
done
STAMP="$VENV/.dvmap-$STAMP_NAME-ready"

if [[ $FORCE == 0 && -f "$STAMP" ]] && "$VENV/bin/python" -c "$PROBE" 2>/dev/null; then
  echo "$LABEL environment ready: $VENV"
  exit 0
fi
rm -f "$STAMP"

if [[ ! -x "$VENV/bin/python" ]]; then
  python3 -m venv "$VENV"
fi
PY="$VENV/bin/python"
"$PY" -m pip install --quiet --upgrade pip
# torch first, pinned: 2.13.0 is the CPU wheel; an unpinned torch pulls CUDA packages.
"$PY" -m pip install --quiet torch==2.13.0
"$PY" -m pip install --quiet torch==2.13.0 "${PACKAGES[@]}"
"$PY" -m pip install --quiet --no-deps -e .
# PyPI's torchvision/torchaudio/torchcodec fail to import beside the CPU torch ("operator
# torchvision::nms does not exist") and transformers imports torchvision when present; triton is GPU-only.
"$PY" -m pip uninstall --quiet -y torchvision torchaudio torchcodec triton 2>/dev/null || true

"$PY" -c "$PROBE; $REPORT"
touch "$STAMP"
echo "$LABEL environment ready: $VENV"
