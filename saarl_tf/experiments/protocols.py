"""The paper's three RL protocols, each as a resumable set of A2C runs.

  single_task  per game, A2C `baseline` vs `joint` attention A2C (Figure 2);
  multi_task   a universal mask pre-trained on random-policy frames pooled from
               Asteroids, Assault and MsPacman, then per game `baseline` vs `joint` vs
               `frozen` universal mask (Figure 3);
  transfer     a mask pre-trained on JourneyEscape frames, frozen, on Asteroids and
               Carnival, vs `baseline` (Figure 4).

Layout under the experiment's root directory (docs/ARCHITECTURE.md):

  mask/                          the pre-training run (multi_task, transfer)
  runs/<game>/<variant>/seed_<k>/ one A2C run each (`training.run_files`)
  results.csv, learning_curves.png (and .svg), summary.md
                                 the report of `experiments.report`

The exported mask lands in `export/<experiment>_mask/`. Running the same experiment
again skips finished runs (their `done.json`) and resumes unfinished ones from their
checkpoints, so a killed experiment loses at most `checkpoint_every` updates per run.
"""

import dataclasses
import os
from typing import Any, Dict, List, Optional, Sequence

from absl import logging

from saarl_tf import config as config_lib
from saarl_tf import envs
from saarl_tf import protocol_table
from saarl_tf import run_layout
from saarl_tf import storage
from saarl_tf.experiments import executors
from saarl_tf.experiments import pretrain_mask
from saarl_tf.experiments import report as report_lib
from saarl_tf.training import a2c_training
from saarl_tf.training import run_files
from saarl_tf.training import stopping


def prepare_mask(protocol: protocol_table.Protocol, root_dir: str,
                 pretrain: config_lib.PretrainConfig,
                 export_root: Optional[str], games: Sequence[str] = ()) -> str:
  """Pre-trains (or resumes, or reuses) the protocol's mask; scores it on the
  `games` it was not trained on (mask/target_quality.json, where ground truth
  exists); exports it.

  Returns:
    The mask's checkpoint directory, for the `frozen` runs.
  """
  mask_root = run_layout.mask_run_dir(root_dir)
  checkpoints = run_layout.checkpoints_dir(mask_root)
  if run_layout.mask_is_trained(mask_root):
    logging.info('Mask of %s already trained: %s', protocol.name, mask_root)
  else:
    pretrain_mask.run(dataclasses.replace(pretrain, games=protocol.mask_games),
                      mask_root)
  unseen = [game for game in games if game not in protocol.mask_games]
  if unseen and not storage.exists(
      os.path.join(mask_root, run_layout.TARGET_QUALITY_JSON)):
    # pylint: disable=g-import-not-at-top
    from saarl_tf import export
    from saarl_tf.models import attention
    with stopping.phase('mask quality on the target games (pre-training done)'):
      model = export.load_attention(checkpoints, attention.SelfSupervisedAttention())
      pretrain_mask.evaluate(model, unseen, pretrain.eval_frames,
                             pretrain.quality_seed, mask_root,
                             run_layout.TARGET_QUALITY_JSON)
  target = (run_layout.protocol_export_dir(export_root, protocol.name)
            if export_root else None)
  if target and not _exported(checkpoints, target):
    from saarl_tf.experiments import export_mask  # pylint: disable=g-import-not-at-top
    logging.info('Exporting the mask to %s', target)
    with stopping.phase('mask export (pre-training done)'):
      export_mask.export_from_checkpoint(checkpoints, target, eval_frames=0,
                                         eval_seed=pretrain.quality_seed)
  return checkpoints


def _exported(checkpoints: str, export_dir: str) -> bool:
  """Whether `export_dir` already holds the mask of `checkpoints` (same variables)."""
  from saarl_tf import export  # pylint: disable=g-import-not-at-top
  if not run_layout.holds_export(export_dir):
    return False
  same = export.mask_digest(export.load_attention(export_dir)) == export.mask_digest(
      export.load_attention(checkpoints))
  if same:
    logging.info('Mask already exported to %s', export_dir)
  return same


def run_protocol(protocol: protocol_table.Protocol,
                 root_dir: str,
                 a2c: config_lib.A2CConfig,
                 pretrain: config_lib.PretrainConfig,
                 games: Optional[Sequence[str]] = None,
                 seeds: Sequence[int] = (0, 1, 2, 3, 4),
                 export_root: Optional[str] = run_layout.DEFAULT_EXPORT_ROOT,
                 executor: Optional[Any] = None) -> Dict[str, str]:
  """Runs (or resumes) every game x variant x seed of the protocol, then reports.

  Args:
    protocol: which protocol.
    root_dir: the experiment's directory.
    a2c: settings shared by every run (game, variant, seed and mask are set here).
    pretrain: mask pre-training settings (games are the protocol's).
    games: override the protocol's games.
    seeds: one run per seed.
    export_root: where the pre-trained mask is exported, or None.
    executor: where the mask pre-training and the runs execute
      (`executors.LocalExecutor()`, the default, or `RayExecutor`); finished runs
      are skipped either way, and the report is written once all runs have ended.

  Returns:
    Paths of the CSV, the figure and the summary.
  """
  executor = executor or executors.LocalExecutor()
  games = tuple(games or protocol.games)
  check_settings(protocol, root_dir, a2c, pretrain, games, seeds)
  runs = [(game, variant, seed) for game in games for variant in protocol.variants
          for seed in seeds]
  todo = [run for run in runs if not run_layout.is_finished(
      run_layout.run_dir(root_dir, *run), a2c.total_frames)]
  capacity = executor.capacity()
  print('\n'.join(plan(protocol, root_dir, a2c, pretrain, runs, todo, executor.name,
                       capacity)), flush=True)
  mask = None
  if config_lib.FROZEN in protocol.variants:
    mask = executor.submit(prepare_mask, protocol, root_dir, pretrain, export_root,
                           games)
  handles = []
  for index, (game, variant, seed) in enumerate(todo):
    directory = run_layout.run_dir(root_dir, game, variant, seed)
    config = dataclasses.replace(a2c, game=game, variant=variant, seed=seed,
                                 mask_checkpoint=None)
    position = stopping.RunPosition(index + 1, len(todo), a2c.total_frames * runs_after(
        len(todo) - index - 1, capacity.runs_at_once))
    logging.info('Running %s, run %d of %d (%s executor)', directory, index + 1,
                 len(todo), executor.name)
    handles.append(executor.submit(run_one, config, directory,
                                   mask if variant == config_lib.FROZEN else None,
                                   position))
  executor.gather(handles)
  return report(protocol, root_dir, games, seeds, a2c.total_frames)


def plan(protocol: protocol_table.Protocol, root_dir: str, a2c: config_lib.A2CConfig,
         pretrain: config_lib.PretrainConfig, runs, todo, executor_name: str,
         capacity: executors.Capacity) -> List[str]:
  """What the protocol will do, in a few lines: its runs (and which are done), the
  frames of each, the output folder, the mask, and how long it takes at
  `protocol_table`'s planning rates with the executor's `capacity`; run locally on a
  machine where one CPU per run would finish sooner, how."""
  games = ', '.join(dict.fromkeys(game for game, _, _ in runs))
  seeds = ','.join(str(seed) for seed in dict.fromkeys(seed for _, _, seed in runs))
  lines = [f'{protocol.name}: {len(runs)} runs ({games} x '
           f'{", ".join(protocol.variants)} x seeds {seeds}), '
           f'{a2c.total_frames:,} frames each, into {root_dir}; '
           f'{len(runs) - len(todo)} finished, {len(todo)} to run']
  mask_hours = 0.0
  if config_lib.FROZEN in protocol.variants:
    if run_layout.mask_is_trained(run_layout.mask_run_dir(root_dir)):
      lines.append('  mask: pre-trained already')
    else:
      mask_hours = (pretrain.train_steps / protocol_table.PLANNING_MASK_UPDATES_PER_S
                    / 3600)
      lines.append(f'  mask: to pre-train on {", ".join(protocol.mask_games)} '
                   f'({pretrain.num_envs} x {pretrain.collect_steps:,} random-policy '
                   f'steps, {pretrain.train_steps:,} updates)')
  hours = estimate_hours(a2c.total_frames, todo, capacity, mask_hours)
  cpus = f'{capacity.cpus_per_run:g} CPU{"" if capacity.cpus_per_run == 1 else "s"}'
  where = (f'on {cpus} one run after another' if capacity.runs_at_once == 1 else
           f'with {capacity.runs_at_once} runs at once, {cpus} each')
  rates = ', '.join(
      f'{variant} {protocol_table.planning_rate(variant, capacity.cpus_per_run):,.0f}'
      for variant in protocol.variants)
  lines.append(f'  estimate: {stopping.duration(hours * 3600)} {where} '
               f'({executor_name} executor; Atari at {rates} agent steps/s); --seeds, '
               '--games and --total_frames make it smaller, --executor=ray spreads it '
               'over cores or a cluster')
  machine = executors.machine_cpus()
  if executor_name == 'local' and machine >= 2 and len(todo) >= 2:
    side_by_side = estimate_hours(a2c.total_frames, todo,
                                  executors.Capacity(machine, 1.0), mask_hours)
    if side_by_side < 0.9 * hours:
      lines.append(
          '  faster here: --executor=ray --cpus_per_run=1 runs '
          f'{min(machine, len(todo))} at once with one CPU each, about '
          f'{stopping.duration(side_by_side * 3600)}'
          + ('' if executors.ray_installed() else ' (pip install -e ".[cluster]")'))
  return lines


def runs_after(later: int, runs_at_once: int) -> int:
  """How many of the `later` runs still to start after a run will run, one after
  another, in its slot once it ends (the `runs_at_once - 1` next ones start in the
  slots the runs before it free): what its progress line's ETA of all runs adds."""
  return -(-max(0, later - runs_at_once + 1) // runs_at_once)


def estimate_hours(total_frames: int, todo, capacity: executors.Capacity,
                   mask_hours: float = 0.0) -> float:
  """Hours until the last of `todo`'s (game, variant, seed) runs ends at the planning
  rates: the mask pre-training (`mask_hours`) first, then each run in order on the
  first of `capacity.runs_at_once` slots to be free, a frozen run not before the
  mask is ready."""
  free = [mask_hours] + [0.0] * (capacity.runs_at_once - 1)
  for game, variant, _ in todo:
    rate = protocol_table.planning_rate(variant, capacity.cpus_per_run)
    hours = total_frames / envs.environment_class(game).frames_per_step / rate / 3600
    slot = free.index(min(free))
    start = max(free[slot], mask_hours if variant == config_lib.FROZEN else 0.0)
    free[slot] = start + hours
  return max(free)


def mask_checkpoint_dir(root_dir: str) -> str:
  """Where the protocol's pre-trained mask's checkpoints are (its frozen runs'
  --mask_checkpoint)."""
  return run_layout.checkpoints_dir(run_layout.mask_run_dir(root_dir))


def check_settings(protocol: protocol_table.Protocol, root_dir: str,
                   a2c: config_lib.A2CConfig,
                   pretrain: config_lib.PretrainConfig, games: Sequence[str],
                   seeds: Sequence[int]):
  """Refuses, before anything runs, a protocol whose mask or runs (finished or
  not) were made with other settings than these, as a standalone run would.

  Raises:
    run_files.SettingsChanged: one line naming the run or mask and each change.
  """
  if config_lib.FROZEN in protocol.variants:
    pretrain_mask.check_settings(
        dataclasses.replace(pretrain, games=protocol.mask_games),
        run_layout.mask_run_dir(root_dir))
  for game in games:
    for variant in protocol.variants:
      for seed in seeds:
        config = dataclasses.replace(
            a2c, game=game, variant=variant, seed=seed,
            mask_checkpoint=(mask_checkpoint_dir(root_dir)
                             if variant == config_lib.FROZEN else None))
        directory = run_layout.run_dir(root_dir, game, variant, seed)
        # A run finished with a larger budget is read, not redone: not a change.
        recorded = (run_files.read_config(directory) or {}).get('total_frames', 0)
        config = dataclasses.replace(config, total_frames=max(config.total_frames,
                                                              recorded))
        run_files.check_settings(directory, config_lib.to_dict(config))


def run_one(config: config_lib.A2CConfig, directory: str,
            mask_checkpoint: Optional[str] = None,
            position: Optional[stopping.RunPosition] = None) -> Dict[str, Any]:
  """One run of a protocol (a frozen one with the pre-trained mask); its done record."""
  if mask_checkpoint:
    config = dataclasses.replace(config, mask_checkpoint=mask_checkpoint)
  return a2c_training.train(config, directory, position)


def report(protocol: protocol_table.Protocol, root_dir: str, games: Sequence[str],
           seeds: Sequence[int], total_frames: int) -> Dict[str, str]:
  """Writes results.csv, learning_curves.png and summary.md from the runs' logs
  (`experiments.report`), rows in game, variant, seed order."""
  with stopping.phase('the report (every run finished)'):
    runs = [report_lib.read_run(run_layout.run_dir(root_dir, game, variant, seed),
                                game, variant, seed)
            for game in games for variant in protocol.variants for seed in seeds]
    return report_lib.write_report(runs, root_dir, protocol.title, total_frames,
                                   experiment=protocol.name)
