#!/usr/bin/env bash
# Benchmark: `ggp plan` on a generated 500-function project. Prints wall time (median of runs)
# and peak RSS. Target: under 150 ms on a 2-core machine.
#   benches/plan.sh [N_FUNCTIONS] [RUNS]     (GGP_BIN=path to use a given binary)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-500}
runs=${2:-7}
bin=${GGP_BIN:-}
if [ -z "$bin" ]; then
  (cd "$here" && cargo build --release --quiet --bin ggp)
  bin="$here/target/release/ggp"
fi
proj=$(mktemp -d)
trap 'rm -rf "$proj"' EXIT
mkdir -p "$proj/deployments" "$proj/functions"
cp "$here/deployments/deployment.defaults.conf" "$here/deployments/function.defaults.conf" "$proj/deployments/"
{
  echo "conf {"
  echo "  functions = ["
  for i in $(seq 1 "$n"); do echo "    \"Fn$i\""; done
  echo "  ]"
  echo "}"
} > "$proj/deployments/big.conf"
for i in $(seq 1 "$n"); do
  d="$proj/functions/Fn$i"
  mkdir -p "$d"
  cat > "$d/function.conf" <<CONF
conf {
  language = "PYTHON3_8"
  functionName = "Fn$i"
  handlerName = "main.handler"
  pinned = $([ $((i % 2)) = 0 ] && echo true || echo false)
  timeoutInSeconds = 5
  inputTopics = [\${AWS_IOT_THING_NAME}"/fn$i/in"]
  outputTopics = [\${AWS_IOT_THING_NAME}"/fn$((i + 1))/in"]
  toCloudSubscriptions = [\${AWS_IOT_THING_NAME}"/fn$i/out"]
  localVolumeResources = [{ sourcePath = "/var/lib/fn$i", destinationPath = "/data$i" }]
  environmentVariables = \${conf.environmentVariables} { INDEX = "$i" }
}
CONF
  printf 'def handler(event, context):\n    return event\n' > "$d/main.py"
done
measure() { # label, extra args...
  local label=$1; shift
  local args=(--project-dir "$proj" plan --offline -g bench -d deployments/big.conf -a X86_64,ARM32,ARM64 --region us-east-1 "$@")
  "$bin" "${args[@]}" > /dev/null   # warm the page cache
  local times=() s e
  for _ in $(seq 1 "$runs"); do
    s=$(date +%s%N)
    "$bin" "${args[@]}" > /dev/null
    e=$(date +%s%N)
    times+=($(( (e - s) / 1000000 )))
  done
  median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")
  rss=$( { /usr/bin/time -v "$bin" "${args[@]}" > /dev/null; } 2>&1 | awk -F: '/Maximum resident/ {gsub(/ /, "", $2); print $2}')
  bytes=$("$bin" "${args[@]}" | wc -c)
  echo "ggp plan $label, $n functions x 3 architectures: median ${median} ms over $runs runs (all: ${times[*]} ms), peak RSS ${rss} KiB, output ${bytes} bytes"
}
subs=$("$bin" --project-dir "$proj" plan --offline -g bench -d deployments/big.conf --region us-east-1 --json | python3 -c 'import json,sys; p=json.load(sys.stdin); print(len(p["greengrass"]["subscriptionDefinition"]["Subscriptions"]))')
echo "($subs subscriptions wired; every function's environment holds LOCAL_LAMBDA_* of all $n functions)"
measure "(text)"
text_median=$median
measure "--json" --json
echo "target: ggp plan < 150 ms -> $([ "$text_median" -lt 150 ] && echo met || echo NOT met) (text ${text_median} ms; --json ${median} ms)"
