#!/bin/sh
# Start the AWS IoT Greengrass V1 core installed by ggp's install.sh: through systemd when the unit is installed
# and systemd runs, else directly with greengrassd. Sets the hardlink/symlink protection Greengrass needs first.
GG_ROOT=/greengrass
set -u

for k in protected_hardlinks protected_symlinks; do
  if [ "$(cat /proc/sys/fs/$k 2>/dev/null)" != 1 ]; then
    sysctl -w "fs.$k=1" >/dev/null 2>&1 || echo "start.sh: warning: cannot set fs.$k=1; Greengrass refuses to start without it" >&2
  fi
done
if [ -d /run/systemd/system ] && [ -f /etc/systemd/system/greengrass.service ]; then
  exec systemctl start greengrass.service
fi
exec "$GG_ROOT/ggc/core/greengrassd" start
