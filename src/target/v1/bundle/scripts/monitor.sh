#!/bin/sh
# Follow the AWS IoT Greengrass V1 core's runtime log (Ctrl-C to stop).
GG_ROOT=/greengrass
exec tail -F "$GG_ROOT/ggc/var/log/system/runtime.log"
