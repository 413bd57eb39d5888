#!/usr/bin/env bash
# ggp.sh: run ggp in Docker on this project, with the same arguments as GGP's ggp.sh (everything goes to ggp):
#
#   ./ggp.sh -g test-group -a X86_64 -d deployments/test.conf --script
#   ./ggp.sh doctor
#
# What the container gets, and nothing else:
# - the project (--project-dir, else $GGP_PROJECT_DIR, else the current directory) read-write at the same path,
#   so deployments/, functions/, connectors/, foundation/, credentials/, build/ and .ggp/ work as on the host
#   and every path ggp prints is a host path; files and directories named in the arguments that lie outside
#   it (--csr, --core-software, --out, -d ../other.conf, ...), at the same path, as the working directory is;
# - the Docker engine: the unix socket of DOCKER_HOST (or of the docker CLI's context) at the same path;
# - AWS credentials as completely as the AWS CLI sees them: every AWS_* variable (session token, profile, region,
#   endpoints, web identity, role, container credentials) by name only (`-e NAME`, so no value shows in `ps`),
#   ~/.aws read-only (profiles, SSO, assume-role) with ~/.aws/sso/cache writable for token refreshes, and the
#   files those variables name (web identity token, config and credentials files, CA bundle) read-only;
#   host networking, so instance metadata, ECS/EKS credential endpoints and local emulators answer as on the host;
# - ggp's own settings: GGP_* variables, the defaults file, the core software cache, the host's binfmt_misc
#   (so `doctor` sees the emulated platforms).
# It runs as your user (files in build/ stay yours), with --rm and --init: no container, image or temporary
# file is left behind, and Ctrl-C stops ggp.
#
# Environment:
#   GGP_IMAGE         the image (default ggp:latest, made by docker/build-ggp-image; a registry image is pulled)
#   GGP_DOCKER_ARGS   extra `docker run` arguments, split on whitespace
#   GGP_SH_DRY_RUN=1  print the docker command (one argument per line) instead of running it
#
# Exit status: ggp's; 2 when docker is missing (as GGP's ggp.sh); 125 when docker cannot start the container.
# Not for: a host without Docker (install ggp itself: see the README) or credential_process programs that exist
# only on the host (run `eval "$(aws configure export-credentials --format env)"` first; the keys then pass).
set -euo pipefail

die() {
  printf 'ggp.sh: %s\n' "$1" >&2
  exit "${2:-1}"
}

command -v docker >/dev/null 2>&1 ||
  die "Docker may not be installed on your system (no docker command). Install Docker, or install ggp itself." 2

default_image=ggp:latest
image=${GGP_IMAGE:-$default_image}

# absolute path of an existing file or directory, symlinks in the directory part resolved
abspath() {
  if [ -d "$1" ]; then
    (cd "$1" && pwd -P)
  else
    local dir
    dir=$(cd "$(dirname "$1")" && pwd -P) || return 1
    printf '%s/%s\n' "${dir%/}" "$(basename "$1")"
  fi
}

# ---------------------------------------------------------------------------------------------- mounts
run_args=()
mounted_dirs="" # newline-separated targets of directory mounts, to skip what they already cover
mounted=""      # every target, to skip a repeat

covered() {
  local d
  while IFS= read -r d; do
    [ -n "$d" ] || continue
    case $1 in "$d" | "$d"/*) return 0 ;; esac
  done <<EOF
$mounted_dirs
EOF
  case $mounted in *"
$1
"*) return 0 ;; esac
  return 1
}

# --mount fields are CSV: quote a field that holds a comma or a quote
csv_field() {
  case $1 in
    *,* | *\"*) local q=\"; printf '"%s"' "${1//$q/$q$q}" ;;
    *) printf '%s' "$1" ;;
  esac
}

# mount SOURCE at TARGET (default: the same path); MODE ro|rw
bind() {
  local src=$1 mode=$2 dst=${3:-$1}
  [ "$dst" != / ] || die "refusing to mount / into the container"
  covered "$dst" && return 0
  local spec
  spec="type=bind,$(csv_field "source=$src"),$(csv_field "target=$dst")"
  [ "$mode" = ro ] && spec="$spec,readonly"
  run_args+=(--mount "$spec")
  mounted="$mounted
$dst
"
  [ -d "$src" ] && mounted_dirs="$mounted_dirs
$dst"
  return 0
}

bind_if_exists() { # PATH MODE
  [ -n "$1" ] && [ -e "$1" ] || return 0
  bind "$(abspath "$1")" "$2"
}

# The project: --project-dir DIR / --project-dir=DIR anywhere in the arguments, else GGP_PROJECT_DIR, else here.
project=${GGP_PROJECT_DIR:-}
prev=""
for a in "$@"; do
  case $a in --project-dir=*) project=${a#--project-dir=} ;; esac
  [ "$prev" = --project-dir ] && project=$a
  prev=$a
done
project=${project:-$PWD}
[ -d "$project" ] || die "project directory $project does not exist"
project=$(abspath "$project")
bind "$project" rw
here=$PWD # the working directory inside too (not mounted itself: relative paths in the arguments are)

# Files and directories named in the arguments (or after --flag=) outside the mounts; an output directory that
# does not exist yet (--out, --dir) is created so that what ggp writes there lands on the host.
prev=""
for a in "$@"; do
  path=$a
  case $a in --*=*) path=${a#*=} ;; esac
  case $prev in
    --out | --dir) [ -e "$path" ] || mkdir -p "$path" ;;
  esac
  case $a in --out=* | --dir=*) [ -e "$path" ] || mkdir -p "$path" ;; esac
  prev=$a
  case $path in "" | -* | /) continue ;; esac
  [ -e "$path" ] || continue
  path=$(abspath "$path")
  if [ -d "$path" ]; then bind "$path" rw; else bind "$path" ro; fi
done

# The Docker engine: DOCKER_HOST, else the endpoint of the docker CLI's current context.
docker_host=${DOCKER_HOST:-}
if [ -z "$docker_host" ]; then
  docker_host=$(docker context inspect --format '{{.Endpoints.docker.Host}}' 2>/dev/null || true)
  docker_host=${docker_host:-unix:///var/run/docker.sock}
fi
run_args+=(-e "DOCKER_HOST=$docker_host")
socket_gid=""
case $docker_host in
  unix://*)
    socket=${docker_host#unix://}
    [ -S "$socket" ] || die "no Docker socket at $socket (DOCKER_HOST=$docker_host)"
    bind "$socket" rw
    socket_gid=$(stat -c %g "$socket" 2>/dev/null || stat -f %g "$socket")
    ;;
esac
[ -n "${DOCKER_CERT_PATH:-}" ] && bind_if_exists "$DOCKER_CERT_PATH" ro

# Your user, so that build/ and .ggp/ stay yours; the socket's group, so that the engine answers.
uid=$(id -u)
gid=$(id -g)
run_args+=(--user "$uid:$gid")
if [ "$uid" != 0 ] && [ -n "$socket_gid" ] && [ "$socket_gid" != "$gid" ]; then
  run_args+=(--group-add "$socket_gid")
fi

# AWS: ~/.aws at the same path (HOME is passed), explicit files over it (a symlinked config or credentials
# file would dangle otherwise), and the files that variables name.
home=${HOME:-}
if [ -n "$home" ] && [ "$home" != / ]; then
  run_args+=(-e "HOME=$home")
  if [ -d "$home/.aws" ]; then
    [ -d "$home/.aws/sso/cache" ] && bind "$(abspath "$home/.aws/sso/cache")" rw "$home/.aws/sso/cache"
    for f in config credentials; do
      [ -L "$home/.aws/$f" ] && [ -e "$home/.aws/$f" ] && bind "$(abspath "$home/.aws/$f")" ro "$home/.aws/$f"
    done
    bind "$home/.aws" ro
  fi
  bind_if_exists "$home/.ggprovisioner" ro
  bind_if_exists "${XDG_CONFIG_HOME:-$home/.config}/ggp" ro
  bind_if_exists "${XDG_CACHE_HOME:-$home/.cache}/ggp" ro
fi
for var in AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE AWS_WEB_IDENTITY_TOKEN_FILE AWS_CA_BUNDLE \
  AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE GGP_DEFAULTS_FILE GGP_CA_BUNDLE GGP_CORE_SOFTWARE_DIR \
  SSL_CERT_FILE SSL_CERT_DIR; do
  bind_if_exists "${!var:-}" ro
done

# The host's binfmt_misc, where doctor looks for it (nothing can be mounted inside the container's /proc).
if [ -e /proc/sys/fs/binfmt_misc/status ]; then
  bind /proc/sys/fs/binfmt_misc ro /run/ggp/binfmt_misc
  run_args+=(-e GGP_BINFMT_DIR=/run/ggp/binfmt_misc)
fi

# ------------------------------------------------------------------------------------------- environment
# By name only: docker reads each value from this process, so no value appears on a command line.
while IFS= read -r var; do
  case $var in
    GGP_IMAGE | GGP_DOCKER_ARGS | GGP_SH_* | GGP_BINFMT_DIR | DOCKER_HOST) ;;
    AWS_* | GGP_* | DOCKER_API_VERSION | DOCKER_TLS_VERIFY | DOCKER_CERT_PATH | \
      HTTP_PROXY | HTTPS_PROXY | NO_PROXY | ALL_PROXY | http_proxy | https_proxy | no_proxy | all_proxy | \
      XDG_CONFIG_HOME | XDG_CACHE_HOME | SSL_CERT_FILE | SSL_CERT_DIR | NO_COLOR | TERM | TZ)
      run_args+=(-e "$var")
      ;;
  esac
done < <(compgen -e | LC_ALL=C sort)

# ---------------------------------------------------------------------------------------------------- run
if [ -t 0 ] && [ -t 1 ]; then run_args+=(-t); fi
# shellcheck disable=SC2206 # GGP_DOCKER_ARGS is documented as whitespace-split
extra=(${GGP_DOCKER_ARGS:-})
cmd=(docker run --rm --init -i --network host --label org.ggp.ggp-sh=1 -w "$here"
  "${run_args[@]}" ${extra[@]+"${extra[@]}"} "$image" "$@")

if [ -n "${GGP_SH_DRY_RUN:-}" ]; then
  printf '%s\n' "${cmd[@]}"
  exit 0
fi
if [ -z "${GGP_IMAGE:-}" ] && ! docker image inspect "$image" >/dev/null 2>&1; then
  die "the image $image is not in the Docker engine: build it with docker/build-ggp-image (after 'cargo build --release --locked'), or set GGP_IMAGE to a published ggp image"
fi
exec "${cmd[@]}"
