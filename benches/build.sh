#!/usr/bin/env bash
# Benchmark: `ggp build` of the example project for X86_64, ARM32 and ARM64 against the bench's Docker engine.
# Prints, measured in the same run:
#   (a) a rebuild with no change (median of RUNS), target <= 0.2 s;
#   (b) the cold build against a baseline of the same steps done with the docker CLI (`docker build` with the
#       equivalent Dockerfile, `docker cp`, `zip -r`) on the same functions, as a ratio, target <= 1.0;
#   (c) ggp's peak RSS during the cold build.
# "Cold" means Docker's layer cache is not used (`--no-cache` for both); the builder images are present.
# The baseline runs as many jobs at once as ggp does (GGP_BENCH_JOBS, default: the number of cores), and it is
# given the answer ggp has to find: ARM32 goes straight to the emulated wheel build, where ggp first tries
# cross-platform wheels.
#   benches/build.sh [RUNS]     (GGP_BIN=path to use a given binary; needs `scripts/bench up`)
# Not a test: it prints figures and whether each target is met, and exits 0 unless something fails to build.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-7}
jobs=${GGP_BENCH_JOBS:-$(nproc)}
archs=(X86_64 ARM32 ARM64)

[ -f "$here/.bench/env" ] || { echo "no .bench/env: run scripts/bench up" >&2; exit 1; }
set -a
# shellcheck disable=SC1091
. "$here/.bench/env"
set +a
export DOCKER_BUILDKIT=0
docker version >/dev/null 2>&1 || { echo "no Docker engine at DOCKER_HOST=${DOCKER_HOST:-}: run scripts/bench up" >&2; exit 1; }
ca=${GGP_BENCH_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
export GGP_CA_BUNDLE=$ca

bin=${GGP_BIN:-}
if [ -z "$bin" ]; then
  (cd "$here" && cargo build --release --quiet --bin ggp)
  bin="$here/target/release/ggp"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
copy_project() {
  mkdir -p "$1"
  cp -r "$here/deployments" "$here/functions" "$here/connectors" "$1/"
  rm -rf "$1"/functions/*/node_modules "$1"/functions/*/build
}
now() { date +%s%N; }
ms() { echo $(( ($2 - $1) / 1000000 )); }
secs() { awk -v m="$1" 'BEGIN { printf "%.2f", m / 1000 }'; }
debarch() { case $1 in X86_64) echo amd64 ;; ARM32) echo armhf ;; ARM64) echo arm64 ;; esac; }
platform() { case $1 in X86_64) echo linux/amd64 ;; ARM32) echo linux/arm/v7 ;; ARM64) echo linux/arm64 ;; esac; }
builder() { local v="GGP_BUILDER_IMAGE_$1"; echo "${!v:-ggp/builder:bookworm-$(debarch "$1")}"; }
wheel_tags() {
  case $1 in
    X86_64) echo manylinux2014_x86_64 manylinux_2_17_x86_64 manylinux_2_28_x86_64 linux_x86_64 ;;
    ARM64) echo manylinux2014_aarch64 manylinux_2_17_aarch64 manylinux_2_28_aarch64 linux_aarch64 ;;
  esac
}

# ------------------------------------------------------------------------------------------------ ggp, cold
proj="$work/ggp"
copy_project "$proj"
# shellcheck disable=SC2054 # the commas are ggp's architecture list
build_args=(--project-dir "$proj" build -d deployments/all.conf -a X86_64,ARM32,ARM64 -j "$jobs")
echo "cold build with ggp (--no-cache, $jobs jobs)..." >&2
s=$(now)
/usr/bin/time -v -o "$work/ggp.time" "$bin" "${build_args[@]}" --no-cache >"$work/ggp.out" 2>"$work/ggp.err" || {
  cat "$work/ggp.err" >&2
  exit 1
}
e=$(now)
ggp_ms=$(ms "$s" "$e")
rss_kib=$(awk -F: '/Maximum resident/ {gsub(/ /, "", $2); print $2}' "$work/ggp.time")

# --------------------------------------------------------------------------------------- ggp, no change
"$bin" "${build_args[@]}" >/dev/null 2>&1   # warm the page cache
times=()
for _ in $(seq 1 "$runs"); do
  s=$(now)
  "$bin" "${build_args[@]}" -q >/dev/null
  e=$(now)
  times+=("$(ms "$s" "$e")")
done
median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")
cached=$("$bin" "${build_args[@]}" --json -q | python3 -c 'import json,sys; a=json.load(sys.stdin)["artifacts"]; print(sum(x["cached"] for x in a), "of", len(a))')

# ------------------------------------------------------------------------- baseline: the docker CLI way
# One folder per job: the function's files, ggp's own build scripts and CA bundle, and the Dockerfile
# ggp would generate; then docker build, docker create + cp, zip -r.
base="$work/baseline"
copy_project "$base/project"
scripts="$here/src/build/scripts"
job_dockerfile() { # function arch -> Dockerfile on stdout
  local f=$1 a=$2 tgt nat
  tgt="FROM --platform=$(platform "$a") $(builder "$a")"
  nat="FROM --platform=linux/amd64 $(builder X86_64)"
  case $f in
    HelloPython)
      if [ "$a" = ARM32 ]; then
        printf '%s AS work\nCOPY .ggp/ /ggp/.ggp/\nCOPY req/ /ggp/src/\nWORKDIR /ggp/src\nRUN ["/bin/sh", "/ggp/.ggp/python.sh", "emulated"]\n' "$tgt"
      else
        printf '%s AS work\nCOPY .ggp/ /ggp/.ggp/\nCOPY req/ /ggp/src/\nWORKDIR /ggp/src\nRUN ["/bin/sh", "/ggp/.ggp/python.sh", "cross", "3.8"%s]\n' \
          "$nat" "$(for t in $(wheel_tags "$a"); do printf ', "%s"' "$t"; done)"
      fi
      printf '%s\nCOPY --from=work /ggp/deps/ /ggp/package/\nCOPY src/ /ggp/package/\n' "$tgt" ;;
    HelloNode)
      printf '%s AS work\nCOPY .ggp/ /ggp/.ggp/\nCOPY src/ /ggp/package/\nWORKDIR /ggp/package\nRUN ["/bin/sh", "/ggp/.ggp/node.sh"]\n%s\nCOPY --from=work /ggp/package/ /ggp/package/\n' "$tgt" "$tgt" ;;
    HelloExecutable)
      printf '%s AS work\nCOPY .ggp/ /ggp/.ggp/\nCOPY src/ /ggp/src/\nWORKDIR /ggp/src\nRUN ["/bin/sh", "/ggp/.ggp/executable.sh", "HelloExecutable"]\n%s\nCOPY --from=work /ggp/package/ /ggp/package/\n' "$tgt" "$tgt" ;;
    SensorPython)
      printf '%s\nCOPY src/ /ggp/package/\n' "$tgt" ;;
  esac
}
baseline_job() { # "function arch"
  set -euo pipefail
  local f=${1% *} a=${1#* } ctx out tag cid
  ctx="$base/ctx-$f-$a"
  out="$base/out-$f-$a"
  tag="ggp-baseline/$(echo "$f" | tr '[:upper:]' '[:lower:]'):$(echo "$a" | tr '[:upper:]' '[:lower:]')"
  mkdir -p "$ctx/.ggp" "$ctx/req" "$out"
  cp -r "$base/project/functions/$f" "$ctx/src"
  rm -f "$ctx/src/function.conf"
  [ -f "$ctx/src/requirements.txt" ] && cp "$ctx/src/requirements.txt" "$ctx/req/"
  cp "$scripts"/*.sh "$ctx/.ggp/"
  cp "$ca" "$ctx/.ggp/ca.crt"
  job_dockerfile "$f" "$a" >"$ctx/Dockerfile"
  docker build -q --no-cache --network host -t "$tag" "$ctx" >/dev/null
  cid=$(docker create --platform "$(platform "$a")" "$tag" /bin/true)
  docker cp "$cid:/ggp/package/." "$out/"
  docker rm "$cid" >/dev/null
  (cd "$out" && zip -qr "$base/$f-$a.zip" .)
}
export -f baseline_job job_dockerfile platform builder debarch wheel_tags
export base scripts ca
job_list=()
for f in HelloPython HelloNode HelloExecutable SensorPython; do
  for a in "${archs[@]}"; do job_list+=("$f $a"); done
done
echo "cold build with the docker CLI ($jobs jobs)..." >&2
s=$(now)
# shellcheck disable=SC2016 # $1 is expanded by the inner bash
printf '%s\n' "${job_list[@]}" | xargs -P "$jobs" -I{} bash -c 'baseline_job "$1"' _ {} || {
  echo "the baseline failed" >&2
  exit 1
}
e=$(now)
cli_ms=$(ms "$s" "$e")
for f in HelloPython HelloNode HelloExecutable SensorPython; do
  for a in "${archs[@]}"; do
    docker rmi -f "ggp-baseline/$(echo "$f" | tr '[:upper:]' '[:lower:]'):$(echo "$a" | tr '[:upper:]' '[:lower:]')" >/dev/null 2>&1 || true
  done
done

# ---------------------------------------------------------------------------------------------- report
ratio=$(awk -v g="$ggp_ms" -v c="$cli_ms" 'BEGIN { printf "%.2f", g / c }')
echo "per job (ggp, cold):"
grep -E 'built in' "$work/ggp.err" | sed -E 's/^\[build\] /  /'
echo "(a) rebuild with no change, 4 functions x 3 architectures ($cached cached): median $(secs "$median") s over $runs runs (all: ${times[*]} ms); target <= 0.2 s -> $([ "$median" -le 200 ] && echo met || echo NOT met)"
echo "(b) cold build: ggp $(secs "$ggp_ms") s, docker CLI baseline $(secs "$cli_ms") s (same steps, $jobs jobs each) -> ratio $ratio; target <= 1.0 -> $(awk -v r="$ratio" 'BEGIN { print (r <= 1.0) ? "met" : "NOT met" }')"
echo "(c) ggp peak RSS during the cold build: $(( rss_kib / 1024 )) MiB ($rss_kib KiB)"
