#!/usr/bin/env bash
# run.sh: starts, or resumes from their checkpoints, the six 40M-frame Carnival runs of
# issue 32 (baseline and frozen, seeds 0-2), two chains side by side (2 cores), each run
# from a git worktree at commit 7af5d58 (runs/wt_7af5d58) writing under
# runs/transfer40m/runs/Carnival/<variant>/seed_<k>; logs and pid files in runs/logs/,
# each start and end appended to runs/commands.txt. A finished run answers "Already
# finished" and one whose records are committed to results/transfer40m is skipped; a
# stopped one (rc 130/143) ends its chain, so running this again resumes. A run that
# keep.sh carried in results/transfer40m/carried and runs/ lacks (a new machine) is
# copied back first and resumes from its checkpoint.
# Stop: kill -TERM $(cat runs/logs/carnival40m_*.pid) (a checkpoint is written first).
set -u
main=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$main/runs/logs"
common="--experiment=a2c --games=Carnival --total_frames=40000000 --precision=mixed_bfloat16 --eval_modes=noop,sticky,sample"

start_at() {  # NAME VARIANT SEED
  local name=$1 variant=$2 seed=$3 wt=$main/runs/wt_7af5d58 extra=""
  # A run whose results are committed is done, even on a machine where runs/ is new.
  if [ -f "$main/results/transfer40m/runs/Carnival/$variant/seed_$seed/done.json" ]; then
    echo "$name: finished, its results are in results/transfer40m"; return 0
  fi
  local run_dir=$main/runs/transfer40m/runs/Carnival/$variant/seed_$seed
  local carried=$main/results/transfer40m/carried/$variant/seed_$seed
  if [ ! -d "$run_dir" ] && [ -d "$carried" ]; then
    mkdir -p "$(dirname "$run_dir")" && cp -r "$carried" "$run_dir"
    echo "$name: resuming from the carried copy in results/transfer40m/carried"
  fi
  [ -d "$wt" ] || git -C "$main" worktree add --detach "$wt" 7af5d58 >/dev/null 2>&1
  [ "$variant" = frozen ] && extra="--mask_checkpoint=export/transfer_mask"
  local args="$common --variant=$variant $extra --seed=$seed --root_dir=$run_dir"
  echo "$(date -u +%FT%TZ) start $name commit=7af5d58: python -m saarl_tf.launch $args" >> "$main/runs/commands.txt"
  (cd "$wt" && PYTHONPATH="$wt" exec "$main/.venv/bin/python" -m saarl_tf.launch $args) \
    >> "$main/runs/logs/$name.log" 2>&1 &
  local pid=$!
  echo $pid > "$main/runs/logs/$name.pid"
  wait $pid; local rc=$?
  echo "$(date -u +%FT%TZ) end $name rc=$rc" >> "$main/runs/commands.txt"
  return $rc
}

chain() {  # VARIANT:SEED ...
  for run in "$@"; do
    start_at "carnival40m_${run%:*}_s${run#*:}" "${run%:*}" "${run#*:}" || return
  done
}

chain frozen:0 baseline:1 frozen:2 &
chain baseline:0 frozen:1 baseline:2 &
wait
