#!/usr/bin/env bash
# pause.sh STOP|CONT: pauses (SIGSTOP) or resumes (SIGCONT) the running 40M-frame runs
# by their pid files in runs/logs/, e.g. to benchmark on an idle machine meanwhile.
# A paused run loses nothing; its progress line's rate and ETA count the pause.
set -u
main=$(cd "$(dirname "$0")/../.." && pwd)
case "${1:-}" in STOP|CONT) ;; *) echo "usage: pause.sh STOP|CONT, not '${1:-}'" >&2; exit 2;; esac
for f in "$main"/runs/logs/*40m_*.pid; do
  [ -f "$f" ] && kill "-$1" "$(cat "$f")" 2>/dev/null && echo "$1 $(basename "$f" .pid) ($(cat "$f"))"
done
exit 0
