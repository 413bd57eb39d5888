#!/usr/bin/env bash
# Benchmark: `ggp bundle` (the whole command: state, DescribeEndpoint against the emulator, core software
# hash check, SHA256SUMS, tar.gz) against
#   tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -c … | gzip -n
# on the same files (ggp's bundle, extracted). Prints, per core software archive, the median wall times, their
# ratio (target <= 1.0) and the size ratio. Two archives: the bench's STAND-IN core (a few KiB: the fixed costs
# dominate) and a synthetic one of CORE_MB MiB of incompressible data in the stand-in's layout (the size of a
# real 1.11.x archive is about 20-30 MiB; the real one cannot be downloaded here).
#   benches/bundle.sh [RUNS] [CORE_MB]     (GGP_BIN=path to use a given binary)
# Needs: the bench's venv and core software (`scripts/bench up`), openssl, GNU tar, gzip.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-7}
core_mb=${2:-24}
bin=${GGP_BIN:-}
if [ -z "$bin" ]; then
  (cd "$here" && cargo build --release --quiet --bin ggp)
  bin="$here/target/release/ggp"
fi
if [ -f "$here/.bench/env" ]; then
  set -a
  # shellcheck disable=SC1091
  . "$here/.bench/env"
  set +a
fi
core_dir=${GGP_CORE_SOFTWARE_DIR:?run scripts/bench up (no GGP_CORE_SOFTWARE_DIR)}
venv=${GGP_BENCH_VENV:-$here/.bench/venv}
work=$(mktemp -d)
emu_pid=""
cleanup() {
  [ -n "$emu_pid" ] && kill "$emu_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# An emulator of our own (DescribeEndpoint is the only AWS call `ggp bundle` makes).
PYTHONPATH=$here/bench/emulator "$venv/bin/python" -m ggp_emulator --host 127.0.0.1 --port 0 >"$work/emu.out" 2>"$work/emu.err" &
emu_pid=$!
for _ in $(seq 1 100); do
  grep -q '^listening on ' "$work/emu.out" 2>/dev/null && break
  sleep 0.1
done
url=$(sed -n 's/^listening on //p' "$work/emu.out")
[ -n "$url" ] || { cat "$work/emu.err" >&2; echo "the emulator did not start" >&2; exit 1; }

# A provisioned group as provisioning stores it (src/provision/state.rs): state.json, core.pem, core.key.
proj=$work/project
st=$proj/.ggp/bench
mkdir -p "$st"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$st/core.key" -out "$st/core.pem" -subj /CN=ggp-bench -days 1 2>/dev/null
chmod 600 "$st/core.key"
cat >"$st/state.json" <<'JSON'
{
  "format": 1,
  "groupName": "bench",
  "thingArn": "arn:aws:iot:us-east-1:123456789012:thing/bench_Core",
  "certificate": { "id": "bench", "arn": "arn:aws:iot:us-east-1:123456789012:cert/bench", "origin": "created" },
  "roleAlias": "bench_CoreRoleAlias"
}
JSON

# The synthetic core: the stand-in's tree plus CORE_MB MiB of random bytes, as gzip'd as the real archive is.
file=greengrass-linux-x86-64-1.11.6.tar.gz
mkdir -p "$work/big-tree" "$work/big"
tar -xzf "$core_dir/$file" -C "$work/big-tree"
head -c $((core_mb * 1024 * 1024)) /dev/urandom >"$work/big-tree/greengrass/ggc/packages/1.11.6/bin/synthetic-payload"
tar -C "$work/big-tree" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -c greengrass | gzip -n >"$work/big/$file"

ms() { echo $(( $(date +%s%N) / 1000000 )); }
median() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

bench_case() { # label, core archive
  local label=$1 core=$2 sha out t0 gt=() tt=() wt=() gm tm wm
  sha=$(sha256sum "$core" | cut -d' ' -f1)
  out=$work/out-$label
  run_ggp() {
    env -i HOME="$work" PATH="$PATH" AWS_EC2_METADATA_DISABLED=true AWS_ACCESS_KEY_ID=AKIABENCH0000000001 \
      AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1 AWS_ENDPOINT_URL="$url" \
      "$bin" --project-dir "$proj" -v bundle -g bench -a X86_64 --core-software "$core" --core-software-sha256 "$sha" \
      --out "$out" >/dev/null 2>"$work/ggp.err"
  }
  # the write phase alone, from ggp's -v log ("X86_64: outputs written in 12.3ms")
  write_ms() {
    sed -n 's/.*outputs written in \([0-9.]*\)\(µs\|ms\|s\|ns\).*/\1 \2/p' "$work/ggp.err" |
      awk '{ v = $1; if ($2 == "s") v *= 1000; else if ($2 == "µs") v /= 1000; else if ($2 == "ns") v /= 1000000; printf "%d\n", v + 0.5 }'
  }
  run_ggp # warm the page cache
  for _ in $(seq 1 "$runs"); do
    t0=$(ms)
    run_ggp
    gt+=($(( $(ms) - t0 )))
    wt+=("$(write_ms)")
  done
  rm -rf "$work/x" && mkdir "$work/x"
  tar -xzf "$out/bench-X86_64.tar.gz" -C "$work/x"
  run_tar() { tar -C "$work/x" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -c ggp-bundle-x86_64 | gzip -n >"$work/tar.tar.gz"; }
  run_tar
  for _ in $(seq 1 "$runs"); do
    t0=$(ms)
    run_tar
    tt+=($(( $(ms) - t0 )))
  done
  gm=$(median "${gt[@]}")
  wm=$(median "${wt[@]}")
  tm=$(median "${tt[@]}")
  local gs ts
  gs=$(stat -c %s "$out/bench-X86_64.tar.gz")
  ts=$(stat -c %s "$work/tar.tar.gz")
  printf '%-28s ggp bundle %5d ms  tar|gzip -n %5d ms  time ratio %s  |  size %9d vs %9d bytes, size ratio %s\n' \
    "$label ($(( $(stat -c %s "$core") / 1024 )) KiB core)" "$gm" "$tm" "$(ratio "${gm}" "$((tm > 0 ? tm : 1))")" "$gs" "$ts" "$(ratio "$gs" "$ts")"
  echo "    runs: ggp ${gt[*]} ms; tar|gzip ${tt[*]} ms"
  echo "    of ggp's time, writing the outputs (read + check the core, SHA256SUMS, tar.gz): median ${wm} ms (ratio $(ratio "$wm" "$((tm > 0 ? tm : 1))")); the rest is process start, reading the state and two DescribeEndpoint calls"
  [ "$gm" -le "$tm" ] && echo "    target time ratio <= 1.0: met" || echo "    target time ratio <= 1.0: NOT met"
}

echo "ggp bundle vs tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -c ... | gzip -n, median of $runs runs, $(nproc) cores"
bench_case stand-in "$core_dir/$file"
bench_case "synthetic-${core_mb}MiB" "$work/big/$file"
