#!/bin/sh
# Vendors a Python function's requirements into /ggp/deps (ggp build, inside the builder image).
#   python.sh cross    PYVER TAG...   wheels for another interpreter/architecture, nothing compiled
#   python.sh emulated                 built with the image's own Python, in a container of the target arch
# Run from the folder holding requirements.txt. Lines starting with `ggp-error:` are shown to the user.
set -eu
mode=$1
shift
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore PIP_BREAK_SYSTEM_PACKAGES=1 \
  PIP_NO_CACHE_DIR=1 PIP_NO_INPUT=1 PYTHONDONTWRITEBYTECODE=1
if [ -f /ggp/.ggp/ca.crt ]; then
  export PIP_CERT=/ggp/.ggp/ca.crt SSL_CERT_FILE=/ggp/.ggp/ca.crt REQUESTS_CA_BUNDLE=/ggp/.ggp/ca.crt
fi
py=$(command -v python3 || command -v python || true)
if [ -z "$py" ]; then
  echo "ggp-error: the builder image has no python3; set buildImage to an image with Python and pip"
  exit 1
fi
if ! "$py" -m pip --version >/dev/null 2>&1; then
  echo "ggp-error: the builder image's $py has no pip; set buildImage to an image with pip (Debian: python3-pip)"
  exit 1
fi
"$py" -m pip --version
mkdir -p /ggp/deps
case $mode in
cross)
  pyver=$1
  shift
  for tag in "$@"; do
    set -- "$@" --platform "$tag"
    shift
  done
  "$py" -m pip install --no-compile --target /ggp/deps --python-version "$pyver" --implementation cp \
    --only-binary=:all: "$@" -r requirements.txt
  ;;
emulated)
  # No debug info: it would embed pip's random build folder and make the objects differ on every build.
  export CFLAGS="${CFLAGS:-} -g0" CXXFLAGS="${CXXFLAGS:-} -g0"
  "$py" -m pip wheel --wheel-dir /ggp/wheels -r requirements.txt
  "$py" -m pip install --no-compile --no-index --no-deps --target /ggp/deps /ggp/wheels/*.whl
  rm -rf /ggp/wheels
  ;;
*)
  echo "ggp-error: python.sh: unknown mode $mode"
  exit 2
  ;;
esac
