#!/bin/sh
# Remove the AWS IoT Greengrass V1 core installed by ggp's install.sh: stops it, removes the systemd unit, the
# install root (certificates and private key included) and /var/log/greengrass. The users ggc_user and
# ggc_group are kept. Needs --yes, because the private key in GG_ROOT/certs may be the only copy.
#   clean.sh --yes
GG_ROOT=/greengrass
set -u

if [ "${1:-}" != --yes ]; then
  echo "clean.sh: this deletes $GG_ROOT (certificate and private key included), the greengrass systemd unit and" >&2
  echo "          /var/log/greengrass; run it again as: $0 --yes" >&2
  exit 2
fi
case "$GG_ROOT" in
  / | "" | *..*) echo "clean.sh: refusing to delete '$GG_ROOT'" >&2; exit 1 ;;
esac
[ "$(id -u)" = 0 ] || { echo "clean.sh: run as root" >&2; exit 1; }
"$GG_ROOT/ggp/stop.sh" 2>/dev/null
unit=/etc/systemd/system/greengrass.service
if [ -f "$unit" ]; then
  if [ -d /run/systemd/system ]; then
    systemctl disable greengrass.service >/dev/null 2>&1
  fi
  rm -f "$unit"
  if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
  fi
fi
rm -rf "$GG_ROOT" /var/log/greengrass
echo "clean.sh: removed $GG_ROOT, /var/log/greengrass and the greengrass unit (ggc_user and ggc_group are kept)"
