#!/bin/sh
# Stop the AWS IoT Greengrass V1 core installed by ggp's install.sh (systemd unit or greengrassd), and its OTA agent.
GG_ROOT=/greengrass
set -u

status=0
if [ -d /run/systemd/system ] && [ -f /etc/systemd/system/greengrass.service ]; then
  systemctl stop greengrass.service || status=$?
elif [ -x "$GG_ROOT/ggc/core/greengrassd" ]; then
  "$GG_ROOT/ggc/core/greengrassd" stop || status=$?
fi
if command -v pkill >/dev/null 2>&1; then
  pkill -x ggc-ota 2>/dev/null
fi
exit "$status"
