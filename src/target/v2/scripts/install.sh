#!/bin/sh
# Offline installer of an AWS IoT Greengrass V2 core device, written by ggp. POSIX sh: runs under bash, dash and
# busybox sh.
#
#   sudo ./install.sh [--no-service] [--no-start]
#   ./install.sh --check
#
# In order, and nothing else:
#  1. checks the sha256 of every file against SHA256SUMS before it changes anything: on a mismatch it stops and
#     the device is as it was;
#  2. checks for a Java runtime; when there is none, installs the .deb packages the bundle carries in debs/
#     (dpkg -i, offline) and checks again;
#  3. copies the certificate, the private key (0600) and the root CA into the Greengrass root named in
#     config.yaml;
#  4. runs the nucleus installer with that config.yaml and provisioning off:
#       java -Droot=ROOT -Dlog.store=FILE -jar GreengrassInstaller/lib/Greengrass.jar --init-config config.yaml
#         --component-default-user ggc_user:ggc_group --provision false --setup-system-service true --start true
#     (--setup-system-service false where systemd is not PID 1, or with --no-service). Without a system service
#     the installer's --start true would run the nucleus in the foreground and never return, so install.sh runs
#     it with --start false and then starts ROOT/alts/current/distro/bin/loader in the background (nohup),
#     output in ROOT/logs/loader.log, pid in ROOT/logs/loader.pid;
#  5. verifies: the installer succeeded, ROOT/config exists, and the service is active when one was set up, or
#     the background nucleus is still running a few seconds after its start.
# It never uses the network: no package manager downloads, no curl, wget or pip.
#
# Options:
#   --check       check the files and the Java runtime; change nothing
#   --no-service  do not set up greengrass.service
#   --no-start    set up only (the installer's --start false)
#   -h, --help    this text
# Exit status: 0 done; 1 refused or failed (the message says why); 2 bad usage.

set -u
umask 022
PATH=$PATH:/usr/sbin:/sbin:/usr/local/sbin

say() { printf 'ggp-install: %s\n' "$*"; }
die() {
  printf 'ggp-install: error: %s\n' "$*" >&2
  exit 1
}

self=$0
here=$(cd "$(dirname "$self")" && pwd) || die "cannot find the bundle folder"
check=false
service=true
start=true
while [ $# -gt 0 ]; do
  case $1 in
    --check) check=true ;;
    --no-service) service=false ;;
    --no-start) start=false ;;
    -h | --help)
      awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$self"
      exit 0
      ;;
    *)
      printf 'ggp-install: unknown option %s (see --help)\n' "$1" >&2
      exit 2
      ;;
  esac
  shift
done

cd "$here" || die "cannot enter $here"

# 1. Every file against SHA256SUMS.
if command -v sha256sum >/dev/null 2>&1; then
  sha256_of() { sha256sum "$1" | cut -d' ' -f1; }
elif command -v openssl >/dev/null 2>&1; then
  sha256_of() { openssl dgst -sha256 -r "$1" | cut -d' ' -f1; }
else
  die "neither sha256sum nor openssl is installed, so the bundle cannot be checked; nothing was changed"
fi
[ -f SHA256SUMS ] || die "SHA256SUMS is missing; nothing was changed"
bad=0
while read -r sum path; do
  [ -n "$path" ] || continue
  if [ ! -f "$path" ]; then
    printf 'ggp-install: missing: %s\n' "$path" >&2
    bad=1
  elif [ "$(sha256_of "$path")" != "$sum" ]; then
    printf 'ggp-install: sha256 mismatch: %s\n' "$path" >&2
    bad=1
  fi
done <SHA256SUMS
[ "$bad" = 0 ] || die "the bundle is damaged (see above); nothing was changed"
say "SHA256SUMS: every file checks out"

# The values install.sh needs, from config.yaml (written by ggp: one key per line, double-quoted values).
yaml_value() { sed -n "s/^ *$1: \"\\(.*\\)\"\$/\\1/p" config.yaml | head -n 1; }
root=$(yaml_value rootpath)
cert=$(yaml_value certificateFilePath)
key=$(yaml_value privateKeyPath)
ca=$(yaml_value rootCaPath)
for v in "$root" "$cert" "$key" "$ca"; do
  [ -n "$v" ] || die "config.yaml lacks system.rootpath or a certificate path"
done

# 2. Java.
have_java() { command -v java >/dev/null 2>&1 && java -version >/dev/null 2>&1; }
if ! have_java; then
  if $check; then
    die "no Java runtime (java) on PATH$(ls debs/*.deb >/dev/null 2>&1 && printf '; install.sh installs the one in debs/')"
  fi
  ls debs/*.deb >/dev/null 2>&1 || die "no Java runtime (java) on PATH and the bundle carries none (ggp bundle --include-deb FILE.deb)"
  say "no Java runtime: installing debs/*.deb offline"
  dpkg -i debs/*.deb || die "dpkg -i debs/*.deb failed"
  have_java || die "still no working java after installing debs/*.deb"
fi
say "java: $(java -version 2>&1 | head -n 1)"
if $check; then
  say "check OK: files intact, Java present; Greengrass root would be $root"
  exit 0
fi

[ "$(id -u)" = 0 ] || die "run as root (sudo ./install.sh): the nucleus installs a system service and its users"

# 3. Certificates into the root.
mkdir -p "$root" || die "cannot create $root"
chmod 755 "$(dirname "$root")" "$root"
cp certs/core.crt "$cert" || die "cannot copy the certificate to $cert"
cp certs/AmazonRootCA1.pem "$ca" || die "cannot copy the root CA to $ca"
(umask 077 && cp certs/core.key "$key") || die "cannot copy the private key to $root"
chmod 600 "$key"

# 4. The installer, provisioning off.
if [ "$service" = true ] && [ "$(cat /proc/1/comm 2>/dev/null)" != systemd ]; then
  say "systemd is not PID 1: no system service; the nucleus is started in the background instead (--no-start: not at all)"
  service=false
fi
# Without a service, the installer's --start true keeps the nucleus in the foreground: started below instead.
installer_start=$start
[ "$service" = true ] || installer_start=false
java -Droot="$root" -Dlog.store=FILE -jar GreengrassInstaller/lib/Greengrass.jar \
  --init-config "$here/config.yaml" \
  --component-default-user ggc_user:ggc_group \
  --provision false \
  --setup-system-service "$service" \
  --start "$installer_start" || die "the Greengrass installer failed (see $root/logs/greengrass.log)"
if [ "$service" = false ] && [ "$start" = true ]; then
  loader=$root/alts/current/distro/bin/loader
  [ -x "$loader" ] || die "the installer left no $loader to start the nucleus with"
  mkdir -p "$root/logs"
  nohup "$loader" >"$root/logs/loader.log" 2>&1 </dev/null &
  echo $! >"$root/logs/loader.pid"
  sleep 3
  kill -0 "$(cat "$root/logs/loader.pid")" 2>/dev/null ||
    die "the nucleus stopped right after its start (see $root/logs/loader.log and $root/logs/greengrass.log)"
  say "nucleus started in the background (pid $(cat "$root/logs/loader.pid"); stop it with kill)"
fi

# 5. Verify.
[ -d "$root/config" ] || die "the installer left no $root/config"
if [ "$service" = true ] && [ "$start" = true ]; then
  systemctl is-active --quiet greengrass || die "greengrass.service is not active (journalctl -u greengrass)"
fi
say "installed the Greengrass V2 core in $root"
