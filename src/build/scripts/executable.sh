#!/bin/sh
# Runs an executable function's build.sh (ggp build, in a container of the target architecture).
#   executable.sh FUNCTION_NAME
# build.sh runs in the function folder and writes the package contents to $GGP_OUT. A GGP-era build.sh that
# leaves FUNCTION_NAME.zip in the folder instead is accepted: the zip is unpacked into $GGP_OUT.
set -eu
fn=$1
export GGP_OUT=/ggp/package GGP_FUNCTION="$fn"
mkdir -p "$GGP_OUT"
if [ -f /ggp/.ggp/ca.crt ]; then
  export SSL_CERT_FILE=/ggp/.ggp/ca.crt CURL_CA_BUNDLE=/ggp/.ggp/ca.crt
fi
chmod +x build.sh
./build.sh
if [ -z "$(ls -A "$GGP_OUT")" ] && [ -f "$fn.zip" ]; then
  echo "build.sh wrote nothing to \$GGP_OUT; unpacking $fn.zip"
  unzip -q -o "$fn.zip" -d "$GGP_OUT"
fi
if [ -z "$(ls -A "$GGP_OUT")" ]; then
  echo "ggp-error: build.sh wrote nothing to \$GGP_OUT (and left no $fn.zip)"
  exit 1
fi
