#!/usr/bin/env bash
# Benchmark: `ggp deploy` of the example project (deployments/all.conf: four functions and a
# connector) against a private instance of the bench emulator, then the same deploy again with
# nothing changed, then `ggp destroy`; the same for Greengrass V2 (`--target v2`). Prints, for each, the wall time and the API calls (total and
# mutating, counted by ggp's SDK interceptor and reported in its --json output).
#
#   benches/deploy.sh [RUNS]      (median of RUNS, default 5; each run on a freshly reset account)
#
# GGP_BIN=path uses a given binary. The Lambda packages come from the build stage: the first run
# builds them in Docker (DOCKER_HOST from .bench/env), later ones are cache hits with no Docker
# work, so the deploy figures are provisioning plus a cache lookup. Needs `scripts/bench up`.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-5}
if [ -f "$here/.bench/env" ]; then
  set -a
  # shellcheck disable=SC1091
  . "$here/.bench/env"
  set +a
fi
venv=${GGP_BENCH_VENV:-$here/.bench/venv}
[ -x "$venv/bin/python" ] || { echo "no emulator venv at $venv: run scripts/bench up" >&2; exit 2; }
bin=${GGP_BIN:-}
if [ -z "$bin" ]; then
  (cd "$here" && cargo build --release --quiet --bin ggp)
  bin="$here/target/release/ggp"
fi

tmp=$(mktemp -d)
emu_pid=
cleanup() {
  exec 7>&- 2>/dev/null || true
  [ -n "$emu_pid" ] && wait "$emu_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

# A private emulator: a clean account, and nobody else's calls in the figures. It stops when
# this script closes its stdin (fd 7).
mkfifo "$tmp/stdin"
# Dated 2023-03-01 (--today: Lambda's runtime blocks), when the Greengrass V1 service still ran and
# Lambda still created the example's nodejs12.x/python3.8 functions for V1; the V2 runs use the
# upgraded runtimes (upgradeRuntime), which Lambda creates on any date.
(cd "$here" && PYTHONPATH=$here/bench/emulator exec "$venv/bin/python" -m ggp_emulator \
  --host 127.0.0.1 --port 0 --today 2023-03-01 --quiet --exit-on-stdin-eof <"$tmp/stdin" >"$tmp/emulator.out" 2>"$tmp/emulator.log") &
emu_pid=$!
exec 7>"$tmp/stdin"
url=
for _ in $(seq 1 600); do
  url=$(sed -n 's/^listening on //p' "$tmp/emulator.out" 2>/dev/null || true)
  [ -n "$url" ] && break
  kill -0 "$emu_pid" 2>/dev/null || { cat "$tmp/emulator.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { echo "the emulator did not start" >&2; exit 1; }

export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE AWS_SECRET_ACCESS_KEY=emulator-secret-access-key
export AWS_REGION=us-east-1
unset AWS_PROFILE AWS_SESSION_TOKEN
group=bench-deploy
common=(--project-dir "$here" --endpoint-url "$url" --json)

# one RUN_NAME COMMAND...: runs ggp, appends "name ms total mutating status" to $tmp/results.
one() {
  local name=$1
  shift
  local s e
  s=$(date +%s%N)
  if ! "$bin" "${common[@]}" "$@" >"$tmp/out.json" 2>"$tmp/err.txt"; then
    echo "ggp $* failed:" >&2
    cat "$tmp/err.txt" >&2
    exit 1
  fi
  e=$(date +%s%N)
  python3 - "$name" $(((e - s) / 1000000)) "$tmp/out.json" >>"$tmp/results" <<'PY'
import json, sys
name, ms, path = sys.argv[1], sys.argv[2], sys.argv[3]
r = json.load(open(path))
calls = r["apiCalls"]
status = (r.get("deployment") or {}).get("status", "-")
print(name, ms, calls["total"], calls["mutating"], status)
PY
}

: >"$tmp/results"
for i in $(seq 1 "$runs"); do
  curl -fsS -X POST "$url/moto-api/reset" >/dev/null
  # The secret SensorPython reads, as its user would have made it (a V2 deploy resolves its ARN).
  "$venv/bin/python" -c 'import boto3, sys; boto3.client("secretsmanager", endpoint_url=sys.argv[1], region_name="us-east-1").create_secret(Name="sensor-api-key", SecretString="bench")' "$url" >/dev/null
  state="$tmp/state-$i"
  one deploy -g "$group" -a X86_64 -d deployments/all.conf --state-dir "$state"
  one redeploy -g "$group" -a X86_64 -d deployments/all.conf --state-dir "$state"
  one destroy destroy -g "$group" --state-dir "$state"
  # The same project on Greengrass V2 (one flag); the core device never connects here, so the
  # deployment is created and reported ACTIVE, not awaited.
  one deploy-v2 -g "$group-v2" -a X86_64 -d deployments/all.conf --target v2 --state-dir "$state-v2"
  one redeploy-v2 -g "$group-v2" -a X86_64 -d deployments/all.conf --target v2 --state-dir "$state-v2"
  one destroy-v2 destroy -g "$group-v2" --state-dir "$state-v2"
done

python3 - "$tmp/results" "$runs" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
runs = sys.argv[2]
print(f"ggp against the bench emulator, example project (4 functions, 1 connector), median of {runs} runs:")
for name, label in [
    ("deploy", "V1 deploy (new group)"), ("redeploy", "V1 re-deploy, nothing changed"), ("destroy", "V1 destroy"),
    ("deploy-v2", "V2 deploy (new thing group)"), ("redeploy-v2", "V2 re-deploy, nothing changed"), ("destroy-v2", "V2 destroy"),
]:
    r = [x for x in rows if x[0] == name]
    ms = [int(x[1]) for x in r]
    total = sorted({int(x[2]) for x in r})
    mutating = sorted({int(x[3]) for x in r})
    status = sorted({x[4] for x in r})
    fmt = lambda v: "/".join(map(str, v))
    print(f"  {label:<28} {statistics.median(ms):>6.0f} ms (min {min(ms)}, max {max(ms)})   API calls: {fmt(total)} total, {fmt(mutating)} mutating   deployment: {fmt(status)}")
PY
