#!/usr/bin/env bash
# rate.sh SECONDS: each running 40M-frame run's agent steps/s over the next SECONDS,
# from its progress lines in runs/logs/ (4 frames per agent step).
set -u
main=$(cd "$(dirname "$0")/../.." && pwd)
seconds=${1:-60}
frames() { grep -h '^frames' "$1" | tail -1 | sed 's/^frames \([0-9,]*\) .*/\1/; s/,//g'; }
declare -A start
for f in "$main"/runs/logs/*40m_*.log; do start[$f]=$(frames "$f"); done
sleep "$seconds"
for f in "$main"/runs/logs/*40m_*.log; do
  now=$(frames "$f"); [ -z "$now" ] || [ "$now" = "${start[$f]}" ] && continue
  echo "$(basename "$f" .log): $(( (now - ${start[$f]:-0}) / 4 / seconds )) agent steps/s"
done
