#!/usr/bin/env bash
# keep.sh: what of the 40M-frame runs (runs/transfer40m) must outlive this
# machine, copied into results/transfer40m for a commit. Run it with the runs stopped
# (their last checkpoint written), then `git add results/transfer40m`.
#   - A finished run (done.json): its records (config, episodes, evaluations) go to
#     results/transfer40m/runs/<game>/<variant>/seed_<k>; its carried copy is removed.
#   - An unfinished run: the whole run directory with only its newest checkpoint (no
#     lease) goes to results/transfer40m/carried/<game>/<variant>/seed_<k>, which run.sh
#     copies back into runs/ on a machine that lacks the run, so it resumes there.
set -eu
main=$(cd "$(dirname "$0")/../.." && pwd)
here=$main/results/transfer40m
for run in "$main"/runs/transfer40m/runs/*/*/seed_*; do
  [ -d "$run" ] || continue
  name=${run#"$main"/runs/transfer40m/runs/}
  if [ -f "$run/done.json" ]; then
    mkdir -p "$here/runs/$name"
    cp "$run"/*.csv "$run/config.json" "$run/done.json" "$here/runs/$name/"
    rm -rf "$here/carried/$name"
    echo "$name: finished, records in results/transfer40m/runs/$name"
    continue
  fi
  newest=$(sed -n 's/^model_checkpoint_path: "\(.*\)"$/\1/p' "$run/checkpoints/checkpoint" 2>/dev/null || true)
  if [ -z "$newest" ]; then
    echo "$name: no checkpoint yet, nothing to carry"; continue
  fi
  rm -rf "$here/carried/$name"
  mkdir -p "$here/carried/$name/checkpoints"
  (cd "$run" && tar cf - --exclude=lease.json --exclude=checkpoints .) |
    (cd "$here/carried/$name" && tar xf -)
  cp "$run/checkpoints/$newest".* "$here/carried/$name/checkpoints/"
  printf 'model_checkpoint_path: "%s"\nall_model_checkpoint_paths: "%s"\n' \
    "$newest" "$newest" > "$here/carried/$name/checkpoints/checkpoint"
  echo "$name: carried at $newest ($(du -sh "$here/carried/$name" | cut -f1))"
done
