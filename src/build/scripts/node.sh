#!/bin/sh
# Installs a Node.js function's production dependencies in place (ggp build, in a container of the target
# architecture, so native addons are compiled for it). Lines starting with `ggp-error:` are shown to the user.
set -eu
cd /ggp/package
if [ ! -f package.json ]; then
  echo "no package.json: nothing to install"
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "ggp-error: the builder image has no npm; set buildImage to an image with Node.js and npm"
  exit 1
fi
export npm_config_cache=/tmp/ggp-npm-cache npm_config_update_notifier=false npm_config_fund=false \
  npm_config_audit=false npm_config_progress=false
if [ -f /ggp/.ggp/ca.crt ]; then
  export npm_config_cafile=/ggp/.ggp/ca.crt NODE_EXTRA_CA_CERTS=/ggp/.ggp/ca.crt
fi
echo "node $(node --version), npm $(npm --version)"
if [ -f package-lock.json ] || [ -f npm-shrinkwrap.json ]; then
  npm ci --omit=dev
else
  npm install --omit=dev --no-package-lock
fi
rm -rf /tmp/ggp-npm-cache
