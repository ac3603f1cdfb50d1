#!/usr/bin/env bash
# run.sh: starts, or resumes from their checkpoints, the main job's 40M-frame runs
# (Figure 4 at the paper's budget: A2C and the frozen JourneyEscape mask on Carnival and
# Asteroids, seeds 0-4), two chains side by side (2 cores), each run from a git
# worktree at commit 7af5d58 (runs/wt_7af5d58) writing under
# runs/transfer40m/runs/<game>/<variant>/seed_<k>; logs and pid files in runs/logs/,
# each start and end appended to runs/commands.txt. A finished run answers "Already
# finished" and one whose records are committed to results/transfer40m is skipped; a
# stopped one (rc 130/143) ends its chain, so running this again resumes. A run that
# keep.sh carried in results/transfer40m/carried and runs/ lacks (a new machine) is
# copied back first and resumes from its checkpoint.
# Each chain runs on a core of its own (taskset; its TensorFlow and emulator threads
# share it), which two unpinned runs crowd (docs/BENCHMARK.md, "Two runs on 2 cores").
# The runs compute the same, float rounding aside; PIN=0 turns it off.
# Stop: kill -TERM $(cat runs/logs/*40m_*.pid) (a checkpoint is written first).
set -u
main=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$main/runs/logs"
common="--experiment=a2c --total_frames=40000000 --precision=mixed_bfloat16 --eval_modes=noop,sticky,sample"

start_at() {  # NAME GAME VARIANT SEED CORE
  local name=$1 game=$2 variant=$3 seed=$4 core=$5 wt=$main/runs/wt_7af5d58 extra="" pin=""
  # A run whose results are committed is done, even on a machine where runs/ is new.
  if [ -f "$main/results/transfer40m/runs/$game/$variant/seed_$seed/done.json" ]; then
    echo "$name: finished, its results are in results/transfer40m"; return 0
  fi
  local run_dir=$main/runs/transfer40m/runs/$game/$variant/seed_$seed
  local carried=$main/results/transfer40m/carried/$game/$variant/seed_$seed
  if [ ! -d "$run_dir" ] && [ -d "$carried" ]; then
    mkdir -p "$(dirname "$run_dir")" && cp -r "$carried" "$run_dir"
    echo "$name: resuming from the carried copy in results/transfer40m/carried"
  fi
  [ -d "$wt" ] || git -C "$main" worktree add --detach "$wt" 7af5d58 >/dev/null 2>&1
  [ "$variant" = frozen ] && extra="--mask_checkpoint=export/transfer_mask"
  [ "${PIN:-1}" = 1 ] && pin="taskset -c $core"
  local args="$common --games=$game --variant=$variant $extra --seed=$seed --root_dir=$run_dir"
  echo "$(date -u +%FT%TZ) start $name commit=7af5d58${pin:+ ($pin)}: python -m saarl_tf.launch $args" >> "$main/runs/commands.txt"
  (cd "$wt" && PYTHONPATH="$wt" exec $pin "$main/.venv/bin/python" -m saarl_tf.launch $args) \
    >> "$main/runs/logs/$name.log" 2>&1 &
  local pid=$!
  echo $pid > "$main/runs/logs/$name.pid"
  wait $pid; local rc=$?
  echo "$(date -u +%FT%TZ) end $name rc=$rc" >> "$main/runs/commands.txt"
  return $rc
}

chain() {  # CORE GAME:VARIANT:SEED ...
  local core=$1 game variant seed
  shift
  for run in "$@"; do
    IFS=: read -r game variant seed <<< "$run"
    start_at "$(echo "$game" | tr 'A-Z' 'a-z')40m_${variant}_s$seed" "$game" "$variant" "$seed" "$core" || return
  done
}

# Carnival's seeds 0-2 first (its verdict), then Asteroids', then seeds 3 and 4; each
# chain alternates the variants so that the two side by side take about as long.
chain 0 Carnival:frozen:0 Carnival:baseline:1 Carnival:frozen:2 \
  Asteroids:baseline:0 Asteroids:frozen:1 Asteroids:baseline:2 \
  Carnival:frozen:3 Carnival:baseline:4 Asteroids:frozen:3 Asteroids:baseline:4 &
chain 1 Carnival:baseline:0 Carnival:frozen:1 Carnival:baseline:2 \
  Asteroids:frozen:0 Asteroids:baseline:1 Asteroids:frozen:2 \
  Carnival:baseline:3 Carnival:frozen:4 Asteroids:baseline:3 Asteroids:frozen:4 &
wait
