#!/usr/bin/env bash
# Startup benchmark of the OCI runtimes: `RUNTIME run` of /bin/true from
# the same bundle (a static busybox rootfs, runc's default config.json with
# terminal off), N times each, for runsc, runc and crun when installed.
# Prints the mean wall time per run and runsc's ratio to each.
# Usage: conformance/startup-bench.sh [PATH/TO/runsc] [N]   (as root)
set -euo pipefail
runsc=$(realpath "${1:-target/release/runsc}")
n=${2:-20}
work=$(mktemp -d /tmp/rvisor-startup.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bundle/rootfs/bin"
cp /bin/busybox "$work/bundle/rootfs/bin/busybox"
ln -s busybox "$work/bundle/rootfs/bin/true"
cd "$work/bundle"
runc spec 2>/dev/null || "$runsc" spec
python3 - <<'PY'
import json
c = json.load(open("config.json"))
c["process"]["terminal"] = False
c["process"]["args"] = ["/bin/true"]
c["root"] = {"path": "rootfs", "readonly": True}
json.dump(c, open("config.json", "w"))
PY
declare -A mean
for rt in runsc runc crun; do
    case $rt in
        runsc) bin=$runsc ;;
        *) bin=$(command -v "$rt" || true) ;;
    esac
    [ -n "$bin" ] || { echo "$rt: not installed"; continue; }
    "$bin" --root "$work/state-$rt" run "warmup-$rt" >/dev/null 2>&1 || { echo "$rt: fails here"; continue; }
    start=$(date +%s%N)
    for i in $(seq "$n"); do
        "$bin" --root "$work/state-$rt" run "c$i" >/dev/null 2>&1 </dev/null
    done
    end=$(date +%s%N)
    mean[$rt]=$(( (end - start) / n / 1000 ))
    printf '%-6s %8.1f ms per run (%d runs)\n' "$rt" "$(awk "BEGIN{print ${mean[$rt]}/1000}")" "$n"
done
for rt in runc crun; do
    if [ -n "${mean[$rt]:-}" ] && [ -n "${mean[runsc]:-}" ]; then
        printf 'runsc / %-5s %6.2fx\n' "$rt" "$(awk "BEGIN{print ${mean[runsc]}/${mean[$rt]}}")"
    fi
done
