#!/bin/sh
# Offline installer of an AWS IoT Greengrass V1 core, written by ggp. POSIX sh: runs under bash, dash and busybox sh.
#
#   sudo ./install.sh [--root DIR] [--now | --install | --start | --update] [--replace-certs]
#   ./install.sh --check [--root DIR]
#
# In order, and nothing else:
#  1. checks the sha256 of every payload file against SHA256SUMS (and SHA256SUMS.device), and the machine's
#     architecture, before it changes anything: on a mismatch it stops and the device is as it was;
#  2. installs the .deb packages the bundle carries, offline (dpkg -i);
#  3. creates the system group ggc_group and the system user ggc_user;
#  4. stops a running core and extracts the core software over ROOT: a re-run upgrades in place and keeps logs,
#     state and, unless --replace-certs, the certificate and key already there; writes config/config.json (0600),
#     certs/ (key 0600) and ROOT/ggp/{start,stop,clean,monitor}.sh;
#  5. where systemd runs (PID 1), installs, enables and starts greengrass.service; elsewhere it says how to start
#     (--now starts the core directly).
# It never uses the network: no package manager downloads, no curl, wget or pip.
#
# Options:
#   --root DIR       install under DIR (default /greengrass)
#   --check          check the payload and the device's prerequisites (kernel, cgroups, protected links, the
#                    runtimes of the deployed functions); list what is missing with its fix; change nothing
#   --now, -n        install and start, with or without systemd (GGP's --now)
#   --install, -i    install; do not start
#   --start, -s      start what is installed; install nothing
#   --update, -u     only install the .deb packages the bundle carries (GGP's "update dependencies")
#   --replace-certs  install the bundle's certificate and key over the ones on the device
#   -h, --help       this text
# Exit status: 0 done; 1 refused or failed (the message says why); 2 bad usage. --check: 1 when an item is missing.

# Set by ggp in gg.<group>.sh, where the payload follows this script: bytes before it, and its sha256.
GGP_PAYLOAD_OFFSET=0
GGP_PAYLOAD_SHA256=

set -u
umask 022
PATH=$PATH:/usr/sbin:/sbin:/usr/local/sbin
GG_DEFAULT_ROOT=/greengrass

say() { printf 'ggp-install: %s\n' "$*"; }
die() {
  printf 'ggp-install: error: %s\n' "$*" >&2
  exit 1
}
usage() {
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$self"
}

# ------------------------------------------------------------------------------------------------ payload checks
sha256_setup() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256_of() { sha256sum "$1" | cut -d' ' -f1; }
    sha256_stdin() { sha256sum | cut -d' ' -f1; }
  elif command -v openssl >/dev/null 2>&1; then
    sha256_of() { openssl dgst -sha256 -r "$1" | cut -d' ' -f1; }
    sha256_stdin() { openssl dgst -sha256 -r | cut -d' ' -f1; }
  else
    die "neither sha256sum nor openssl is installed, so the payload cannot be checked; nothing was changed"
  fi
}

# The payload: the folder of this script, or (gg.<group>.sh) the tar after it, checked and extracted to a temp dir.
payload_setup() {
  case $GGP_PAYLOAD_OFFSET in
    '' | *[!0-9]*) die "GGP_PAYLOAD_OFFSET is damaged in $self" ;;
  esac
  if [ "$GGP_PAYLOAD_OFFSET" -eq 0 ]; then
    payload=$(cd "$(dirname "$self")" && pwd -P) || die "cannot enter the folder of $self"
    return
  fi
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/ggp-payload.XXXXXX") || die "cannot make a temporary folder"
  trap 'rm -rf "$tmp"' EXIT
  trap 'rm -rf "$tmp"; exit 130' INT TERM
  got=$(tail -c +$((GGP_PAYLOAD_OFFSET + 1)) "$self" | sha256_stdin)
  [ "$got" = "$GGP_PAYLOAD_SHA256" ] ||
    die "the payload of $self does not match its sha256 (expected $GGP_PAYLOAD_SHA256, got $got): the file is damaged or was altered; nothing was changed"
  tail -c +$((GGP_PAYLOAD_OFFSET + 1)) "$self" | tar -xf - -C "$tmp" ||
    die "cannot extract the payload of $self into $tmp; nothing was changed"
  payload=$tmp
}

# Checks every file a sums file lists; prints the count.
verify_sums() { # sums-file
  [ -f "$payload/$1" ] || die "$1 is missing from the bundle; nothing was changed"
  n=0
  while read -r want path; do
    [ -n "$want" ] || continue
    path=${path#\*}
    case $path in
      /* | *..* | '') die "$1 names '$path', which is not a payload path; nothing was changed" ;;
    esac
    [ -f "$payload/$path" ] ||
      die "payload file $path (listed in $1) is missing: the bundle is incomplete; nothing was changed"
    got=$(sha256_of "$payload/$path")
    [ "$got" = "$want" ] ||
      die "payload file $path does not match its sha256 in $1 (expected $want, got $got): the bundle is damaged or was altered; nothing was changed"
    n=$((n + 1))
  done <"$payload/$1"
  echo "$n"
}

# True when a checked sums file lists the path.
listed() {
  for s in SHA256SUMS SHA256SUMS.device; do
    [ -f "$payload/$s" ] && awk -v p="$1" '$2 == p || $2 == "*" p { f = 1 } END { exit !f }' "$payload/$s" && return 0
  done
  return 1
}

require_listed() {
  listed "$1" || die "$1 is not in the bundle's checked files${2:+ ($2)}; nothing was changed"
}

verify_payload() {
  sha256_setup
  payload_setup
  count=$(verify_sums SHA256SUMS) || exit 1
  checked="$count files match SHA256SUMS"
  if [ -f "$payload/SHA256SUMS.device" ]; then
    count=$(verify_sums SHA256SUMS.device) || exit 1
    checked="$checked, $count match SHA256SUMS.device"
  fi
  require_listed bundle.conf
  # shellcheck disable=SC1091
  . "$payload/bundle.conf"
  for f in "$CORE_FILE" greengrass.service start.sh stop.sh clean.sh monitor.sh certs/root.ca.pem manifest.json; do
    require_listed "$f"
  done
  require_listed config/config.json "with --split-secrets, extract the device's secrets archive into the same folder first"
  require_listed certs/core.crt "with --split-secrets, extract the device's secrets archive into the same folder first"
  machine=$(uname -m)
  case " $BUNDLE_MACHINES " in
    *" $machine "*) ;;
    *) die "this bundle is for $BUNDLE_ARCH ($BUNDLE_MACHINES) but this machine is $machine; nothing was changed" ;;
  esac
}

uses_pkcs11() { grep -q '"privateKeyPath": "pkcs11:' "$payload/config/config.json"; }

# ------------------------------------------------------------------------------------------------ --check
missing=0
ok() { printf '  ok       %s\n' "$*"; }
note() { printf '  note     %s\n' "$*"; }
lack() { # what, fix
  printf '  MISSING  %s\n           fix: %s\n' "$1" "$2"
  missing=$((missing + 1))
}

version_ge() { # a.b c.d
  awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, "."); split(b, y, "."); for (i = 1; i <= 3; i++) { if (x[i] + 0 > y[i] + 0) exit 0; if (x[i] + 0 < y[i] + 0) exit 1 } exit 0 }'
}

cgroup_v1_mounted() { # controller
  awk -v c="$1" '$3 == "cgroup" { n = split($4, o, ","); for (i = 1; i <= n; i++) if (o[i] == c) f = 1 } END { exit !f }' /proc/mounts
}

cgroup_v2_controllers() {
  awk '$3 == "cgroup2" { print $2 }' /proc/mounts | while read -r m; do
    [ -r "$m/cgroup.controllers" ] && cat "$m/cgroup.controllers" && exit 0
  done | grep .
}

cgroup_enabled() { # controller -> 1, 0 or empty (/proc/cgroups)
  awk -v c="$1" '$1 == c { print $4 }' /proc/cgroups 2>/dev/null
}

check_cgroup() { # controller, what it is for, kernel option, kernel command line words
  c=$1
  if cgroup_v1_mounted "$c"; then
    ok "$c cgroup (v1) is mounted ($2)"
  elif v2=$(cgroup_v2_controllers) && { [ "$c" = devices ] || case " $v2 " in *" $c "*) true ;; *) false ;; esac; }; then
    if [ "$c" = devices ]; then
      ok "device access control of cgroup v2 (eBPF; the v2 equivalent of the devices controller) ($2)"
    else
      ok "$c controller of cgroup v2 ($2)"
    fi
  else
    case $(cgroup_enabled "$c") in
      0) lack "$c cgroup: disabled on the kernel command line ($2)" \
        "add '$4' to the kernel command line (/boot/cmdline.txt on a Raspberry Pi, GRUB_CMDLINE_LINUX elsewhere) and reboot" ;;
      1) lack "$c cgroup: enabled but not mounted ($2)" \
        "mount it: mkdir -p /sys/fs/cgroup/$c && mount -t cgroup -o $c cgroup /sys/fs/cgroup/$c (or install cgroupfs-mount)" ;;
      *) lack "$c cgroup: this kernel has none ($2)" "use a kernel built with $3=y" ;;
    esac
  fi
}

kernel_config() {
  if [ -r /proc/config.gz ]; then
    gzip -dc /proc/config.gz 2>/dev/null
  elif [ -r "/boot/config-$(uname -r)" ]; then
    cat "/boot/config-$(uname -r)"
  else
    return 1
  fi
}

runtime_fix() { # command
  case $1 in
    python*) echo "install $1 (e.g. apt-get install $1 on a machine with a network), or carry its .deb packages in the bundle: ggp bundle --include-deb FILE.deb ..." ;;
    node*) echo "install Node.js so that '$1' is on PATH (Greengrass V1 also looks for nodejs<version>, e.g. nodejs12.x), or carry its .deb packages in the bundle: ggp bundle --include-deb FILE.deb ..." ;;
    java*) echo "install a Java 8+ runtime so that '$1' is on PATH (Greengrass V1 looks for java8: ln -s \"\$(command -v java)\" /usr/local/bin/java8), or carry its .deb packages: ggp bundle --include-deb FILE.deb ..." ;;
    *) echo "install $1 so that it is on PATH" ;;
  esac
}

run_check() {
  say "checking the prerequisites of AWS IoT Greengrass $CORE_VERSION ($BUNDLE_ARCH) on $(uname -n), root $root"
  ok "payload: $checked"
  ok "architecture $(uname -m)"
  kr=$(uname -r)
  kv=$(echo "$kr" | sed 's/^\([0-9]*\.[0-9]*\).*/\1/')
  if version_ge "$kv" 4.4; then
    ok "kernel $kr (>= 4.4, Lambda containers)"
  elif version_ge "$kv" 3.17; then
    note "kernel $kr: functions must run without containers (NoContainer); containers need >= 4.4"
  else
    lack "kernel $kr is older than 3.17" "use a kernel >= 4.4 (>= 3.17 for NoContainer functions only)"
  fi
  if [ -r /proc/cgroups ]; then
    check_cgroup memory "memory limits of Lambda functions" CONFIG_MEMCG "cgroup_enable=memory cgroup_memory=1"
    check_cgroup devices "local device resources of containerised functions" CONFIG_CGROUP_DEVICE "cgroup_enable=devices"
  else
    lack "cgroups: /proc/cgroups does not exist" "use a kernel built with CONFIG_CGROUPS=y, CONFIG_MEMCG=y and CONFIG_CGROUP_DEVICE=y"
  fi
  if grep -q ' cgroup2 ' /proc/mounts && ! grep -q ' cgroup ' /proc/mounts; then
    note "only cgroup v2 is mounted: Greengrass V1 Lambda containers need cgroup v1 (boot with systemd.unified_cgroup_hierarchy=0); NoContainer functions are not affected"
  fi
  if cfg=$(kernel_config); then
    before=$missing
    for o in CONFIG_IPC_NS CONFIG_UTS_NS CONFIG_USER_NS CONFIG_PID_NS CONFIG_CGROUPS CONFIG_CGROUP_DEVICE CONFIG_MEMCG \
      CONFIG_POSIX_MQUEUE CONFIG_OVERLAY_FS CONFIG_HAVE_ARCH_SECCOMP_FILTER CONFIG_SECCOMP_FILTER CONFIG_KEYS \
      CONFIG_SECCOMP CONFIG_SHMEM; do
      if echo "$cfg" | grep -Eq "^$o=(y|m)\$"; then
        :
      else
        lack "kernel option $o" "use a kernel built with $o=y (Greengrass Lambda containers need it)"
      fi
    done
    if [ "$missing" -eq "$before" ]; then
      ok "kernel options: namespaces, cgroups, seccomp, overlayfs, mqueue, keys, shmem"
    fi
  else
    note "the kernel configuration is not readable (/proc/config.gz, /boot/config-$kr): kernel options were not checked"
  fi
  for k in protected_hardlinks protected_symlinks; do
    v=$(cat /proc/sys/fs/$k 2>/dev/null)
    if [ "$v" = 1 ]; then
      ok "fs.$k = 1"
    else
      lack "fs.$k is '${v:-unreadable}', Greengrass needs 1" \
        "sysctl -w fs.$k=1 ($root/ggp/start.sh does it at each start; to keep it: echo fs.$k=1 >> /etc/sysctl.d/99-greengrass.conf)"
    fi
  done
  for p in /var/run /dev/stdin /dev/stdout /dev/stderr; do
    [ -e "$p" ] || lack "$p does not exist" "create it (Greengrass needs /var/run and the standard streams in /dev)"
  done
  for t in tar gzip; do
    command -v "$t" >/dev/null 2>&1 || lack "command $t" "install $t"
  done
  if [ -n "${RUNTIMES:-}" ]; then
    for r in $RUNTIMES; do
      if p=$(command -v "$r" 2>/dev/null); then
        ok "runtime $r ($p)"
      else
        lack "runtime $r (used by the deployed functions) is not on PATH" "$(runtime_fix "$r")"
      fi
    done
  else
    ok "runtimes: the deployed functions need none"
  fi
  debs=$(awk '$2 ~ /^debs\// { print $2 }' "$payload/SHA256SUMS")
  if [ -n "$debs" ]; then
    note "the bundle carries $(echo "$debs" | wc -l | tr -d ' ') .deb package(s), which install.sh installs first: re-run --check after installing"
    command -v dpkg >/dev/null 2>&1 || lack "dpkg (to install the bundled .deb packages)" "this device has no dpkg: install the packages another way"
  fi
  for a in ggc_group ggc_user; do
    if account_exists "$a"; then ok "account $a exists"; else note "account $a does not exist yet: install.sh creates it"; fi
  done
  if ! account_exists ggc_group && ! command -v groupadd >/dev/null 2>&1 && ! command -v addgroup >/dev/null 2>&1; then
    lack "groupadd or addgroup (to create ggc_group)" "install passwd (groupadd) or adduser, or create the group by hand"
  fi
  if ! account_exists ggc_user && ! command -v useradd >/dev/null 2>&1 && ! command -v adduser >/dev/null 2>&1; then
    lack "useradd or adduser (to create ggc_user)" "install passwd (useradd) or adduser, or create the user by hand"
  fi
  if uses_pkcs11; then
    ok "private key: in the HSM (PKCS#11)"
  elif listed certs/core.key; then
    ok "private key: in the bundle"
  elif [ -f "$root/certs/core.key" ]; then
    ok "private key: $root/certs/core.key on the device"
  else
    lack "the core's private key: not in the bundle (--csr or --certificate-arn) and not at $root/certs/core.key" \
      "put the key the certificate was made from at $root/certs/core.key (mode 0600) before installing"
  fi
  if [ "$USE_SYSTEMD" = yes ] && ! systemd_running; then
    note "config.json says useSystemd=yes but systemd is not running here (PID 1 is $(pid1)); for such a device make the bundle with --no-systemd"
  fi
  avail=$(df -Pk "$(existing_parent "$root")" 2>/dev/null | awk 'NR == 2 { print $4 }')
  if [ -n "$avail" ] && [ "$avail" -lt 131072 ]; then
    lack "free space: ${avail} KiB under $root" "free at least 128 MiB (400 MiB with over-the-air updates)"
  fi
  if [ "$missing" -eq 0 ]; then
    say "nothing is missing"
    return 0
  fi
  say "$missing item(s) missing"
  return 1
}

# ------------------------------------------------------------------------------------------------ install
pid1() { cat /proc/1/comm 2>/dev/null || echo unknown; }
systemd_running() { [ -d /run/systemd/system ]; }
account_exists() { # name: a user (id) or a group (/etc/group, getent)
  id "$1" >/dev/null 2>&1 && return 0
  grep -q "^$1:" /etc/group 2>/dev/null && return 0
  command -v getent >/dev/null 2>&1 && getent group "$1" >/dev/null 2>&1
}
existing_parent() {
  d=$1
  while [ ! -d "$d" ]; do d=$(dirname "$d"); done
  echo "$d"
}

# Runs each command line until the account exists; the error output of every attempt is kept for the message.
create_account() { # name, command lines...
  name=$1
  shift
  tried=""
  for c in "$@"; do
    out=$(eval "$c" 2>&1) || tried="$tried
    $c: $(echo "$out" | head -n 1)"
    account_exists "$name" && return 0
  done
  die "cannot create the system account $name; tried:$tried"
}

ensure_accounts() {
  if account_exists ggc_group; then
    say "group ggc_group exists"
  else
    create_account ggc_group "groupadd --system ggc_group" "addgroup --system ggc_group" "addgroup -S ggc_group"
    say "created the system group ggc_group"
  fi
  if id ggc_user >/dev/null 2>&1; then
    say "user ggc_user exists"
  else
    create_account ggc_user \
      "useradd --system --no-create-home --gid ggc_group --shell /bin/false ggc_user" \
      "adduser --system --no-create-home --ingroup ggc_group --disabled-login ggc_user" \
      "adduser -S -D -H -G ggc_group -s /bin/false ggc_user"
    say "created the system user ggc_user"
  fi
}

install_debs() {
  debs=$(awk '$2 ~ /^debs\// { print $2 }' "$payload/SHA256SUMS")
  [ -n "$debs" ] || return 0
  todo=""
  for d in $debs; do
    pkg=$(dpkg-deb -f "$payload/$d" Package) || die "$d is not a .deb package"
    ver=$(dpkg-deb -f "$payload/$d" Version)
    have=$(dpkg-query -W -f '${Status} ${Version}' "$pkg" 2>/dev/null)
    if [ "$have" = "install ok installed $ver" ]; then
      say "package $pkg $ver is installed"
    else
      todo="$todo $payload/$d"
    fi
  done
  [ -n "$todo" ] || return 0
  say "installing the bundled packages (dpkg -i, offline):$(for d in $todo; do printf ' %s' "${d##*/}"; done)"
  # shellcheck disable=SC2086
  dpkg -i $todo || die "dpkg -i failed; the bundle must carry every package these depend on (see dpkg's message above)"
}

# cp to a temporary name, set the mode, rename: a reader never sees a half-written file.
put() { # src dst mode
  rm -f "$2.ggp-new"
  if [ "$3" = 600 ]; then
    (umask 077 && cp "$1" "$2.ggp-new") || die "cannot write $2"
  else
    cp "$1" "$2.ggp-new" || die "cannot write $2"
  fi
  chmod "$3" "$2.ggp-new" || die "cannot write $2"
  mv -f "$2.ggp-new" "$2" || die "cannot write $2"
}

# The same, with /greengrass/ replaced by the install root.
put_rooted() { # src dst mode
  if [ "$root" = "$GG_DEFAULT_ROOT" ]; then
    put "$1" "$2" "$3"
    return
  fi
  sed -e "s|file://$GG_DEFAULT_ROOT/|file://$root/|g" -e "s|^GG_ROOT=$GG_DEFAULT_ROOT\$|GG_ROOT=$root|" \
    -e "s|=$GG_DEFAULT_ROOT/|=$root/|g" "$1" >"$2.ggp-rooted" || die "cannot write $2"
  put "$2.ggp-rooted" "$2" "$3"
  rm -f "$2.ggp-rooted"
}

core_running() {
  if systemd_running && systemctl is-active --quiet greengrass.service 2>/dev/null; then
    return 0
  fi
  [ -f /var/run/greengrassd.pid ] && kill -0 "$(cat /var/run/greengrassd.pid)" 2>/dev/null
}

stop_core() {
  if systemd_running && [ -f /etc/systemd/system/greengrass.service ]; then
    systemctl stop greengrass.service >/dev/null 2>&1
  elif [ -x "$root/ggc/core/greengrassd" ]; then
    "$root/ggc/core/greengrassd" stop >/dev/null 2>&1
  fi
}

install_core() {
  if [ -d "$root/ggc/packages" ]; then
    say "upgrading in place in $root (installed before: $(cd "$root/ggc/packages" && echo *))"
  else
    say "installing Greengrass $CORE_VERSION in $root"
  fi
  parent=$(dirname "$root")
  mkdir -p "$parent" || die "cannot create $parent"
  stage=$(mktemp -d "$parent/.ggp-stage.XXXXXX") || die "cannot make a temporary folder in $parent"
  if ! tar -xzf "$payload/$CORE_FILE" -C "$stage"; then
    rm -rf "$stage"
    die "cannot extract $CORE_FILE"
  fi
  if [ ! -d "$stage/greengrass" ]; then
    rm -rf "$stage"
    die "$CORE_FILE has no greengrass/ folder: it is not a Greengrass V1 core software archive"
  fi
  mkdir -p "$root" || die "cannot create $root"
  # over what is there: an upgrade keeps ggc/var (logs, state), ggc/deployment and the certificates
  if ! (cd "$stage/greengrass" && tar -cf - .) | (cd "$root" && tar -xf -); then
    rm -rf "$stage"
    die "cannot copy the core software into $root"
  fi
  rm -rf "$stage"
  [ -x "$root/ggc/core/greengrassd" ] || die "$root/ggc/core/greengrassd is missing after extracting $CORE_FILE"
}

install_certs() {
  mkdir -p "$root/certs"
  put "$payload/certs/root.ca.pem" "$root/certs/root.ca.pem" 644
  if [ "$replace_certs" = no ] && { [ -f "$root/certs/core.key" ] || [ -f "$root/certs/core.crt" ]; }; then
    if [ -f "$root/certs/core.crt" ] && [ "$(sha256_of "$root/certs/core.crt")" != "$(sha256_of "$payload/certs/core.crt")" ]; then
      say "kept the certificate and key in $root/certs; the bundle's certificate differs (--replace-certs installs it)"
    else
      say "kept the certificate and key in $root/certs"
    fi
    return
  fi
  put "$payload/certs/core.crt" "$root/certs/core.crt" 644
  if listed certs/core.key; then
    put "$payload/certs/core.key" "$root/certs/core.key" 600
  fi
  say "installed the certificate$(listed certs/core.key && echo ' and private key (0600)') in $root/certs"
}

install_files() {
  mkdir -p "$root/config" "$root/ggp"
  put_rooted "$payload/config/config.json" "$root/config/config.json" 600
  for s in start stop clean monitor; do
    put_rooted "$payload/$s.sh" "$root/ggp/$s.sh" 755
  done
  for f in manifest.json bundle.conf SHA256SUMS device.json SHA256SUMS.device; do
    if [ -f "$payload/$f" ]; then
      put "$payload/$f" "$root/ggp/$f" 644
    fi
  done
}

install_unit() { # start: yes|no
  if ! systemd_running; then
    return 1
  fi
  put_rooted "$payload/greengrass.service" /etc/systemd/system/greengrass.service 644
  systemctl daemon-reload || die "systemctl daemon-reload failed"
  systemctl enable greengrass.service >/dev/null 2>&1 || die "systemctl enable greengrass.service failed"
  say "installed and enabled /etc/systemd/system/greengrass.service"
  if [ "$1" = yes ]; then
    systemctl restart greengrass.service || die "systemctl restart greengrass.service failed (journalctl -u greengrass)"
    say "started greengrass.service"
  fi
  return 0
}

preflight() {
  [ "$(id -u)" = 0 ] || die "run as root (sudo $self ...)"
  tar -tzf "$payload/$CORE_FILE" >/dev/null 2>&1 || die "tar cannot read $CORE_FILE here (tar -z must work); nothing was changed"
  if ! uses_pkcs11 && ! listed certs/core.key && [ ! -f "$root/certs/core.key" ]; then
    die "the bundle has no private key (made with --csr or --certificate-arn) and $root/certs/core.key does not exist: put the key there (mode 0600) first; nothing was changed"
  fi
  if awk '$2 ~ /^debs\// { f = 1 } END { exit !f }' "$payload/SHA256SUMS" && ! command -v dpkg >/dev/null 2>&1; then
    die "the bundle carries .deb packages but this device has no dpkg; nothing was changed"
  fi
  case $root in
    /*) ;;
    *) die "--root must be an absolute path" ;;
  esac
  case $root in
    *[!A-Za-z0-9._/-]* | / | *..*) die "--root '$root': use an absolute path of letters, digits and . _ - /" ;;
  esac
}

main() {
  need_root=yes
  for a in "$@"; do
    case $a in --check | -h | --help) need_root=no ;; esac
  done
  if [ "$need_root" = yes ] && [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then
    exec sudo -- sh "$self" "$@"
  fi
  root=$GG_DEFAULT_ROOT
  action=install
  start=auto
  replace_certs=no
  while [ $# -gt 0 ]; do
    case $1 in
      --root) [ $# -ge 2 ] || { echo "--root needs a folder" >&2; exit 2; }; root=$2; shift ;;
      --root=*) root=${1#--root=} ;;
      --check) action=check ;;
      --now | -n) action=install; start=yes ;;
      --install | -i) action=install; start=no ;;
      --start | -s) action=start ;;
      --update | -u) action=update ;;
      --replace-certs) replace_certs=yes ;;
      -h | --help) usage; exit 0 ;;
      *) echo "ggp-install: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
  done
  root=${root%/}
  [ -n "$root" ] || root=/
  verify_payload
  if [ "$action" = check ]; then
    run_check
    return
  fi
  say "payload OK: $checked"
  if [ "$action" = start ]; then
    [ "$(id -u)" = 0 ] || die "run as root (sudo $self ...)"
    [ -x "$root/ggp/start.sh" ] || die "nothing is installed in $root (run install.sh without --start first)"
    "$root/ggp/start.sh"
    return
  fi
  preflight
  install_debs
  [ "$action" = update ] && return 0
  ensure_accounts
  was_running=no
  if core_running; then
    was_running=yes
    say "stopping the running core"
  fi
  [ -x "$root/ggc/core/greengrassd" ] && stop_core
  install_core
  install_certs
  install_files
  case $start in
    yes) want_start=yes ;;
    no) want_start=no ;;
    *) if systemd_running || [ "$was_running" = yes ]; then want_start=yes; else want_start=no; fi ;;
  esac
  if install_unit "$want_start"; then
    :
  elif [ "$want_start" = yes ]; then
    "$root/ggp/start.sh" || die "$root/ggp/start.sh failed; see $root/ggc/var/log/system/runtime.log"
  else
    say "systemd is not running here (PID 1 is $(pid1)): start Greengrass with $root/ggp/start.sh (it runs $root/ggc/core/greengrassd start), or re-run with --now"
  fi
  thing=$(sed -n 's/^ *"thingArn": "\([^"]*\)".*/\1/p' "$root/config/config.json")
  say "done: Greengrass $CORE_VERSION ($BUNDLE_ARCH) in $root for $thing; logs: $root/ggp/monitor.sh"
}

self=$0
main "$@"
exit $?
