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
from typing import Any, Dict, Optional, Sequence, Tuple

from absl import logging

from saarl_tf import config as config_lib
from saarl_tf import storage
from saarl_tf.experiments import executors
from saarl_tf.experiments import pretrain_mask
from saarl_tf.experiments import report as report_lib
from saarl_tf.training import a2c_training
from saarl_tf.training import run_files


@dataclasses.dataclass(frozen=True)
class Protocol:
  """What one of the paper's protocols runs by default."""
  name: str
  title: str
  games: Tuple[str, ...]
  variants: Tuple[str, ...]
  mask_games: Tuple[str, ...] = ()   # pre-train a mask on these (for `frozen`)


PROTOCOLS = {
    'single_task': Protocol(
        'single_task', 'Single-task: A2C vs attention A2C (Figure 2)',
        ('MsPacman', 'Assault', 'Asteroids', 'Carnival'), ('baseline', 'joint')),
    'multi_task': Protocol(
        'multi_task', 'Multi-task: universal frozen mask (Figure 3)',
        ('Asteroids', 'Assault', 'MsPacman'), ('baseline', 'joint', 'frozen'),
        mask_games=('Asteroids', 'Assault', 'MsPacman')),
    'transfer': Protocol(
        'transfer', 'Transfer: a JourneyEscape mask, frozen (Figure 4)',
        ('Asteroids', 'Carnival'), ('baseline', 'frozen'),
        mask_games=('JourneyEscape',)),
}


def run_dir(root_dir: str, game: str, variant: str, seed: int) -> str:
  return os.path.join(root_dir, 'runs', game, variant, f'seed_{seed}')


def prepare_mask(protocol: Protocol, root_dir: str,
                 pretrain: config_lib.PretrainConfig,
                 export_root: Optional[str], games: Sequence[str] = ()) -> str:
  """Pre-trains (or resumes, or reuses) the protocol's mask; scores it on the
  `games` it was not trained on (mask/target_quality.json, where ground truth
  exists); exports it.

  Returns:
    The mask's checkpoint directory, for the `frozen` runs.
  """
  mask_root = os.path.join(root_dir, 'mask')
  checkpoints = mask_checkpoint_dir(root_dir)
  if storage.exists(os.path.join(mask_root, pretrain_mask.QUALITY_JSON)):
    logging.info('Mask of %s already trained: %s', protocol.name, mask_root)
  else:
    pretrain_mask.run(dataclasses.replace(pretrain, games=protocol.mask_games),
                      mask_root)
  unseen = [game for game in games if game not in protocol.mask_games]
  if unseen and not storage.exists(
      os.path.join(mask_root, pretrain_mask.TARGET_QUALITY_JSON)):
    # pylint: disable=g-import-not-at-top
    from saarl_tf import export
    from saarl_tf.models import attention
    model = export.load_attention(checkpoints, attention.SelfSupervisedAttention())
    pretrain_mask.evaluate(model, unseen, pretrain.eval_frames, pretrain.quality_seed,
                           mask_root, pretrain_mask.TARGET_QUALITY_JSON)
  if export_root:
    from saarl_tf import export  # pylint: disable=g-import-not-at-top
    export.export_from_checkpoint(
        checkpoints, os.path.join(export_root, f'{protocol.name}_mask'),
        eval_frames=0, eval_seed=pretrain.quality_seed)
  return checkpoints


def run_protocol(protocol: Protocol,
                 root_dir: str,
                 a2c: config_lib.A2CConfig,
                 pretrain: config_lib.PretrainConfig,
                 games: Optional[Sequence[str]] = None,
                 seeds: Sequence[int] = (0, 1, 2, 3, 4),
                 export_root: Optional[str] = 'export',
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
  mask = None
  if 'frozen' in protocol.variants:
    mask = executor.submit(prepare_mask, protocol, root_dir, pretrain, export_root,
                           games)
  handles = []
  for game in games:
    for variant in protocol.variants:
      for seed in seeds:
        directory = run_dir(root_dir, game, variant, seed)
        if run_files.finished_frames(directory) >= a2c.total_frames:
          logging.info('Skipping finished run %s', directory)
          continue
        config = dataclasses.replace(a2c, game=game, variant=variant, seed=seed,
                                     mask_checkpoint=None)
        logging.info('Running %s (%s executor)', directory, executor.name)
        handles.append(executor.submit(run_one, config, directory,
                                       mask if variant == 'frozen' else None))
  executor.gather(handles)
  return report(protocol, root_dir, games, seeds, a2c.total_frames)


def mask_checkpoint_dir(root_dir: str) -> str:
  """Where the protocol's pre-trained mask's checkpoints are (its frozen runs'
  --mask_checkpoint)."""
  return os.path.join(root_dir, 'mask', 'checkpoints')


def check_settings(protocol: Protocol, root_dir: str, a2c: config_lib.A2CConfig,
                   pretrain: config_lib.PretrainConfig, games: Sequence[str],
                   seeds: Sequence[int]):
  """Refuses, before anything runs, a protocol whose mask or runs (finished or
  not) were made with other settings than these, as a standalone run would.

  Raises:
    run_files.SettingsChanged: one line naming the run or mask and each change.
  """
  if 'frozen' in protocol.variants:
    pretrain_mask.check_settings(
        dataclasses.replace(pretrain, games=protocol.mask_games),
        os.path.join(root_dir, 'mask'))
  for game in games:
    for variant in protocol.variants:
      for seed in seeds:
        config = dataclasses.replace(
            a2c, game=game, variant=variant, seed=seed,
            mask_checkpoint=(mask_checkpoint_dir(root_dir) if variant == 'frozen'
                             else None))
        directory = run_dir(root_dir, game, variant, seed)
        # A run finished with a larger budget is read, not redone: not a change.
        recorded = (run_files.read_config(directory) or {}).get('total_frames', 0)
        config = dataclasses.replace(config, total_frames=max(config.total_frames,
                                                              recorded))
        run_files.check_settings(directory, config_lib.to_dict(config))


def run_one(config: config_lib.A2CConfig, directory: str,
            mask_checkpoint: Optional[str] = None) -> Dict[str, Any]:
  """One run of a protocol (a frozen one with the pre-trained mask); its done record."""
  if mask_checkpoint:
    config = dataclasses.replace(config, mask_checkpoint=mask_checkpoint)
  return a2c_training.train(config, directory)


def report(protocol: Protocol, root_dir: str, games: Sequence[str],
           seeds: Sequence[int], total_frames: int) -> Dict[str, str]:
  """Writes results.csv, learning_curves.png and summary.md from the runs' logs
  (`experiments.report`), rows in game, variant, seed order."""
  runs = [report_lib.read_run(run_dir(root_dir, game, variant, seed), game, variant,
                              seed)
          for game in games for variant in protocol.variants for seed in seeds]
  return report_lib.write_report(runs, root_dir, protocol.title, total_frames,
                                 experiment=protocol.name)
