#!/usr/bin/env bash
# The steps of the ggp GitHub Action (action.yml), as a script that runs the same outside GitHub:
#
#   action/run.sh install   find or install ggp; outputs `ggp`, `ggp-version`; puts it on GITHUB_PATH
#   action/run.sh run       run one ggp command with --json; outputs `exit-code`, `json`, `group-id`, `bundles`,
#                           `secret-files`, `sha256`; a table in GITHUB_STEP_SUMMARY; exits with ggp's status
#
# Inputs come as INPUT_<NAME> variables (action.yml sets them; dashes become underscores). GitHub's files and
# runner facts are read from GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, GITHUB_PATH, RUNNER_OS, RUNNER_ARCH,
# RUNNER_TEMP (each optional here: a missing file is not written). Overrides, for tests and mirrors:
#   GGP_BINARY         use this ggp (like the `binary` input)
#   GGP_RELEASE_URL    where releases are (default https://github.com/<action repo>/releases/download); each
#                      release is <url>/v<version>/ with ggp-<version>-<target>.tar.gz and SHA256SUMS;
#                      file:// works
#
# Credentials: the job's, untouched (aws-actions/configure-aws-credentials, a profile, instance or container
# roles). With INPUT_ROLE_ARN, the job's GitHub OIDC token is written to a private file and ggp assumes the role
# with it (AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE); keys and profiles in the environment are then not
# passed to ggp, so the role is what it uses. The token is never printed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
action_root=$(dirname "$here")
tmp_root=${RUNNER_TEMP:-${TMPDIR:-/tmp}}

say() { printf '[ggp-action] %s\n' "$*" >&2; }
die() {
  printf '::error title=ggp action::%s\n' "$*"
  exit 1
}
truthy() { case ${1:-} in true | True | TRUE | 1 | yes) return 0 ;; *) return 1 ;; esac; }

# output NAME VALUE: one step output (multi-line values with a delimiter that is not in the value)
output() {
  [ -n "${GITHUB_OUTPUT:-}" ] || return 0
  local delim="ggp_eof_$RANDOM$RANDOM"
  while [[ $2 == *"$delim"* ]]; do delim="ggp_eof_$RANDOM$RANDOM"; done
  printf '%s<<%s\n%s\n%s\n' "$1" "$delim" "$2" "$delim" >>"$GITHUB_OUTPUT"
}
summary() { [ -z "${GITHUB_STEP_SUMMARY:-}" ] || printf '%s\n' "$@" >>"$GITHUB_STEP_SUMMARY"; }

# -------------------------------------------------------------------------------------------------- install
release_target() {
  case "${RUNNER_OS:-Linux}/${RUNNER_ARCH:-X64}" in
    Linux/X64) echo x86_64-unknown-linux-gnu ;;
    Linux/ARM64) echo aarch64-unknown-linux-gnu ;;
    *) return 1 ;;
  esac
}

install_release() { # VERSION -> sets `binary` (not printed: die's message must reach the log)
  local version=$1 target url repo dir asset
  target=$(release_target) ||
    die "no ggp release binary for ${RUNNER_OS:-?}/${RUNNER_ARCH:-?} (Linux X64 and ARM64 only): set 'build: true'"
  repo=${GGP_ACTION_REPOSITORY:-${GITHUB_REPOSITORY:-}}
  url=${GGP_RELEASE_URL:-https://github.com/$repo/releases/download}/v$version
  asset=ggp-$version-$target.tar.gz
  dir=$tmp_root/ggp-$version-$target
  binary=$dir/ggp-$version-$target/ggp
  [ -x "$binary" ] && return
  rm -rf "$dir" && mkdir -p "$dir"
  say "downloading $url/$asset"
  curl -fsSL --retry 3 -o "$dir/$asset" "$url/$asset" || die "cannot download $url/$asset"
  curl -fsSL --retry 3 -o "$dir/SHA256SUMS" "$url/SHA256SUMS" || die "cannot download $url/SHA256SUMS"
  grep -q "  $asset\$" "$dir/SHA256SUMS" || die "SHA256SUMS of v$version does not list $asset"
  (cd "$dir" && grep "  $asset\$" SHA256SUMS | sha256sum -c --strict --quiet -) >&2 ||
    die "$asset does not match its sha256 in SHA256SUMS: refusing to run it"
  tar -xzf "$dir/$asset" -C "$dir"
  [ -x "$binary" ] || die "$asset has no ggp-$version-$target/ggp"
}

install_cmd() {
  local binary=${INPUT_BINARY:-${GGP_BINARY:-}} version=${INPUT_VERSION:-}
  if [ -n "$binary" ]; then
    [ -x "$binary" ] || die "binary $binary is not an executable file"
    binary=$(cd "$(dirname "$binary")" && pwd)/$(basename "$binary")
  elif truthy "${INPUT_BUILD:-false}"; then
    command -v cargo >/dev/null || die "'build: true' needs cargo on the runner (e.g. dtolnay/rust-toolchain)"
    say "building ggp from $action_root with cargo install --locked"
    cargo install --locked --quiet --path "$action_root" --root "$tmp_root/ggp-cargo" >&2
    binary=$tmp_root/ggp-cargo/bin/ggp
  else
    if [ -z "$version" ]; then
      case ${GGP_ACTION_REF:-} in
        v[0-9]*.[0-9]*.[0-9]*) version=${GGP_ACTION_REF#v} ;;
        *) die "which ggp? set 'version' (a release, e.g. 0.1.0), 'build: true' or 'binary' (the action's ref '${GGP_ACTION_REF:-}' is not a release tag)" ;;
      esac
    fi
    install_release "${version#v}"
  fi
  local got
  got=$("$binary" --version) || die "$binary --version failed"
  got=${got#ggp }
  if [ -n "$version" ] && [ "$got" != "${version#v}" ]; then
    die "asked for ggp ${version#v}, but $binary is $got"
  fi
  say "ggp $got at $binary"
  [ -z "${GITHUB_PATH:-}" ] || dirname "$binary" >>"$GITHUB_PATH"
  output ggp "$binary"
  output ggp-version "$got"
}

# ------------------------------------------------------------------------------------------------------ run
# The job's OIDC token for INPUT_ROLE_ARN, in a file only this user can read.
web_identity() {
  if [ -z "${ACTIONS_ID_TOKEN_REQUEST_URL:-}" ] || [ -z "${ACTIONS_ID_TOKEN_REQUEST_TOKEN:-}" ]; then
    die "role-arn needs the job's OIDC token: add 'permissions: id-token: write' to the job"
  fi
  local dir=$tmp_root/ggp-oidc response token
  mkdir -p "$dir" && chmod 700 "$dir"
  response=$(curl -fsS --retry 3 -H "Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN" \
    "$ACTIONS_ID_TOKEN_REQUEST_URL&audience=sts.amazonaws.com") || die "cannot get the job's OIDC token"
  token=$(jq -r '.value // empty' <<<"$response")
  [ -n "$token" ] || die "the OIDC token answer has no value"
  [ -z "${GITHUB_ACTIONS:-}" ] || echo "::add-mask::$token"
  (umask 077 && printf '%s' "$token" >"$dir/token")
  export AWS_WEB_IDENTITY_TOKEN_FILE=$dir/token AWS_ROLE_ARN=$INPUT_ROLE_ARN
  export AWS_ROLE_SESSION_NAME="ggp-${GITHUB_RUN_ID:-local}-${GITHUB_RUN_ATTEMPT:-1}"
  unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE AWS_DEFAULT_PROFILE
  say "credentials: web identity for $INPUT_ROLE_ARN (session $AWS_ROLE_SESSION_NAME)"
}

# ggp's arguments from the inputs
ggp_args() {
  local cmd=${INPUT_COMMAND:-deploy}
  args=(--json)
  [ -z "${INPUT_PROJECT_DIR:-}" ] || args+=(--project-dir "$INPUT_PROJECT_DIR")
  [ -z "${INPUT_REGION:-}" ] || args+=(--region "$INPUT_REGION")
  [ -z "${INPUT_ENDPOINT_URL:-}" ] || args+=(--endpoint-url "$INPUT_ENDPOINT_URL")
  local g=() a=() d=() out=() t=()
  [ -z "${INPUT_GROUP:-}" ] || g=(-g "$INPUT_GROUP")
  [ -z "${INPUT_ARCH:-}" ] || a=(-a "$INPUT_ARCH")
  [ -z "${INPUT_DEPLOYMENT:-}" ] || d=(-d "$INPUT_DEPLOYMENT")
  [ -z "${INPUT_TARGET:-}" ] || t=(--target "$INPUT_TARGET")
  ! truthy "${INPUT_SCRIPT:-}" || out+=(--script)
  ! truthy "${INPUT_OEM:-}" || out+=(--oem)
  ! truthy "${INPUT_BUNDLE:-}" || out+=(--bundle)
  case $cmd in
    deploy) args+=(${g[@]+"${g[@]}"} ${a[@]+"${a[@]}"} ${d[@]+"${d[@]}"} ${out[@]+"${out[@]}"} ${t[@]+"${t[@]}"}) ;;
    plan) args+=(plan ${g[@]+"${g[@]}"} ${d[@]+"${d[@]}"} ${a[@]+"${a[@]}"} ${t[@]+"${t[@]}"}) ;;
    build) args+=(build ${d[@]+"${d[@]}"} ${a[@]+"${a[@]}"}) ;;
    bundle) args+=(bundle ${g[@]+"${g[@]}"} ${a[@]+"${a[@]}"} ${d[@]+"${d[@]}"} ${out[@]+"${out[@]}"}) ;;
    destroy) args+=(destroy ${g[@]+"${g[@]}"}) ;;
    doctor) args+=(doctor) ;;
    *) die "command '$cmd' is not one of deploy, plan, build, bundle, destroy, doctor" ;;
  esac
  local extra
  # shellcheck disable=SC2206 # the `args` input is documented as whitespace-split
  extra=(${INPUT_ARGS:-})
  args+=(${extra[@]+"${extra[@]}"})
}

# a path relative to the working directory when it is inside it
rel() {
  case $1 in "$PWD"/*) printf '%s\n' "${1#"$PWD"/}" ;; *) printf '%s\n' "$1" ;; esac
}

human_size() { awk -v b="$1" 'BEGIN { split("B KiB MiB GiB", u); i = 1; while (b >= 1024 && i < 4) { b /= 1024; i++ } printf (i == 1 ? "%d %s" : "%.1f %s"), b, u[i] }'; }

run_cmd() {
  local ggp=${GGP:-${GGP_BINARY:-}}
  [ -n "$ggp" ] || ggp=$(command -v ggp) || die "no ggp: run the install step first"
  [ -z "${INPUT_ROLE_ARN:-}" ] || web_identity
  local args=()
  ggp_args
  local work json errlog started code
  work=$(mktemp -d "$tmp_root/ggp-run.XXXXXX")
  json=$work/output.json
  errlog=$work/stderr.log
  say "ggp ${args[*]}"
  started=$SECONDS
  set +e
  { "$ggp" "${args[@]}" 2>&1 1>&3 3>&- | tee "$errlog" >&2; } 3>"$json"
  code=${PIPESTATUS[0]}
  set -e
  local seconds=$((SECONDS - started))
  output exit-code "$code"
  output json "$json"

  # What ggp reported (one JSON document per stage it ran, read as one array): the group id, and every file
  # it wrote (objects with kind, path and sha256, wherever they are), each checked against the file on disk.
  local report='[]' group_id=""
  report=$(jq -s . "$json" 2>/dev/null) || report='[]'
  group_id=$(jq -r '[.. | objects | .groupId? // empty | strings] | first // empty' <<<"$report")
  output group-id "$group_id"
  local bundles="" secrets="" sums="" rows="" kind path sha bytes secret actual
  while IFS=$'\t' read -r kind path sha bytes secret; do
    [ -n "$path" ] || continue
    [ -f "$path" ] || die "ggp reported $path, which does not exist"
    actual=$(sha256sum "$path" | cut -d' ' -f1)
    [ "$actual" = "$sha" ] || die "$path: sha256 $actual, but ggp reported $sha"
    path=$(rel "$path")
    sums+="$sha  $path"$'\n'
    if [ "$secret" = true ]; then secrets+="$path"$'\n'; else bundles+="$path"$'\n'; fi
    rows+="| \`$path\` | $kind$([ "$secret" = true ] && echo ' (secret)') | $(human_size "$bytes") | \`$sha\` |"$'\n'
  done < <(jq -r '[.. | objects | select(has("kind") and has("path") and has("sha256"))] | unique_by(.path)
                  | .[] | [.kind, .path, .sha256, (.bytes // 0), (.secret // false)] | @tsv' <<<"$report")
  output bundles "${bundles%$'\n'}"
  output secret-files "${secrets%$'\n'}"
  output sha256 "${sums%$'\n'}"

  # The job summary
  local cmd=${INPUT_COMMAND:-deploy} title status
  title="ggp $cmd${INPUT_GROUP:+ $INPUT_GROUP}${INPUT_ARCH:+ ($INPUT_ARCH)}"
  if [ "$code" = 0 ]; then status="✅ succeeded"; else status="❌ failed with exit status $code"; fi
  summary "### $title: $status" "" "| | |" "|---|---|" \
    "| command | \`ggp ${args[*]}\` |" \
    "| ggp | $("$ggp" --version | cut -d' ' -f2) |" \
    "| time | ${seconds} s |"
  [ -z "$group_id" ] || summary "| group id | \`$group_id\` |"
  if [ "$code" != 0 ]; then
    local error
    error=$(grep -m1 '^error: ' "$errlog" | sed 's/^error: //; s/|/\\|/g' || true)
    [ -z "$error" ] || summary "| error | $error |"
    printf '::error title=ggp %s failed (exit %s)::%s\n' "$cmd" "$code" "${error:-see the log}"
  fi
  summary ""
  if [ -n "$rows" ]; then
    summary "| file | kind | size | sha256 |" "|---|---|---|---|" "${rows%$'\n'}" ""
  fi
  case $cmd in
    build)
      local built
      built=$(jq -r '.[] | (.artifacts // [])[] | "| \(.function) | \(.arch) | `\(.package)` | \(.size) | `\(.sha256)` | \(if .cached then "cache" else "built" end) |"' <<<"$report")
      [ -z "$built" ] || summary "| function | arch | package | bytes | sha256 | |" "|---|---|---|---|---|---|" "$built" ""
      local failed
      failed=$(jq -r '.[] | (.failures // [])[] | "| \(.function) | \(.arch) | \(.message | gsub("\n"; " ") | gsub("\\|"; "\\|")) |"' <<<"$report")
      [ -z "$failed" ] || summary "| failed function | arch | why |" "|---|---|---|" "$failed" ""
      ;;
    doctor)
      local checks
      checks=$(jq -r '.[] | (.checks // [])[] | "| \(.name) | \(.status) | \(.summary | gsub("\\|"; "\\|")) |"' <<<"$report")
      [ -z "$checks" ] || summary "| check | status | |" "|---|---|---|" "$checks" ""
      ;;
  esac
  rm -f "$errlog"
  return "$code"
}

case ${1:-} in
  install) install_cmd ;;
  run) run_cmd ;;
  *)
    sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
