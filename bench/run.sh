#!/usr/bin/env bash
# Cairn's signing benchmarks and the kryptology GG20 baseline from one run,
# so that BENCHMARKS.md can set them side by side.
#
#   bench/run.sh                      # everything, about 10–20 minutes
#   GG20_N=50 bench/run.sh            # more baseline signings
#   SKIP_CAIRN=1 bench/run.sh         # the GG20 baseline alone
#
# Environment:
#   BENCHTIME       -benchtime for Cairn's benchmarks (default 30x)
#   ECDSA_BENCH     -bench pattern for mpc/ecdsa (default . : keygen, signing,
#                   presigning and the online step, all 3-of-5)
#   GG20_BENCHTIME  -benchtime for BenchmarkGG20Sign3of5 (default 10x; one
#                   GG20 signing takes seconds)
#   GG20_N          signings per configuration for cmd/baseline (default 20)
#   SKIP_CAIRN, SKIP_GG20_BENCH, SKIP_GG20_BASELINE   set to 1 to skip a part
#
# The first part runs in the main module (github.com/cairn-mpc/cairn), the
# rest in bench/'s own module, which depends on kryptology v1.8.0 alone; the
# two never share a build.
set -euo pipefail

bench=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$bench")

BENCHTIME=${BENCHTIME:-30x}
ECDSA_BENCH=${ECDSA_BENCH:-.}
GG20_BENCHTIME=${GG20_BENCHTIME:-10x}
GG20_N=${GG20_N:-20}

echo "== machine"
date -u '+%Y-%m-%d %H:%M:%S UTC'
go version
echo "cpus: $(getconf _NPROCESSORS_ONLN)  $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //')"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || uptime)"
(cd "$root" && echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (work tree differs)')")

if [ "${SKIP_CAIRN:-}" != 1 ]; then
  echo
  echo "== Cairn signing (main module)"
  cd "$root"
  go test -p 1 -run '^$' -bench 'BenchmarkSign$|BenchmarkClusterSign' -benchtime "$BENCHTIME" ./mpc/frost/ ./mpc/
  if [ -d mpc/ecdsa ] && go list ./mpc/ecdsa >/dev/null 2>&1; then
    echo
    echo "== Cairn threshold ECDSA, DKLs23 (mpc/ecdsa)"
    go test -p 1 -run '^$' -bench "$ECDSA_BENCH" -benchtime "$BENCHTIME" ./mpc/ecdsa/
  else
    echo "(mpc/ecdsa not present: no Cairn ECDSA figures)"
  fi
fi

cd "$bench"
if [ "${SKIP_GG20_BENCH:-}" != 1 ]; then
  echo
  echo "== GG20 baseline, go test -bench (bench module, kryptology v1.8.0)"
  go test -run '^$' -bench 'BenchmarkGG20Sign3of5' -benchtime "$GG20_BENCHTIME" -timeout 60m ./gg20/
fi
if [ "${SKIP_GG20_BASELINE:-}" != 1 ]; then
  echo
  echo "== GG20 baseline, cmd/baseline: $GG20_N verified signings per configuration"
  go run ./cmd/baseline -n "$GG20_N" -t 3 -parties 5 -concurrent
fi

echo
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || uptime)"
