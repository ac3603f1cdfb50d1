"""Pre-trains the attention mask offline on random-policy frames and scores it.

The first half of the paper's multi-task and transfer protocols. Writes, under
`root_dir` (the run-directory layout is in docs/ARCHITECTURE.md): `config.json` (the
`PretrainConfig`, and how many frames it trains on; the mask export copies it),
TensorBoard logs (train/), checkpoints (checkpoints/), `mask_quality.json` (object
recall, mask mass on objects and mask mean against ground truth, on held-out frames)
and `mask_overlay_<game>.png` (those frames with their masks, the ground-truth
objects boxed).
"""

import os
from typing import Dict, Optional, Sequence

from absl import logging
import tensorflow as tf

from saarl_tf import config as config_lib
from saarl_tf import plots
from saarl_tf import run_layout
from saarl_tf import storage
from saarl_tf.agents import a2c
from saarl_tf.evaluation import mask_quality
from saarl_tf.models import attention
from saarl_tf.models import precisions
from saarl_tf.training import pair_training
from saarl_tf.training import run_files
from saarl_tf.training import run_lease
from saarl_tf.training import stopping



def evaluate(model: attention.SelfSupervisedAttention, games: Sequence[str],
             num_frames: int, seed: int, root_dir: str,
             filename: str = run_layout.MASK_QUALITY_JSON
             ) -> Dict[str, Dict[str, float]]:
  """Mask quality per game; writes `filename` (mask_quality.json) and one overlay PNG
  per game.

  Games without ground truth (no OCAtari, or a game it does not read) are skipped
  with a warning.
  """
  results = {}
  for game in games:
    stopping.check()
    try:
      labelled, masks, results[game] = mask_quality.mask_quality_on(
          model, game, num_frames, seed)
    except (ImportError, ValueError) as error:
      logging.warning('No mask quality for %s: %s', game, error)
      continue
    results[game]['overlay'] = os.path.join(root_dir, run_layout.mask_overlay_png(game))
    plots.overlay_png(labelled.observations, masks, results[game]['overlay'],
                      boxes=labelled.boxes,
                      title=f'{game}: held-out random-policy frames and their masks')
    logging.info('Mask quality on %s: %s', game, results[game])
  storage.write_json(os.path.join(root_dir, filename), results)
  return results


def settings_of(config: config_lib.PretrainConfig) -> Dict:
  """The run's settings as config.json records them, with the frames it trains on."""
  return dict(config_lib.to_dict(config), num_frames=config.num_frames)


def check_settings(config: config_lib.PretrainConfig, root_dir: str):
  """Raises run_files.SettingsChanged (one line naming each change) if `root_dir`
  holds a pre-training run made with other settings; more steps are allowed."""
  run_files.check_settings(root_dir, settings_of(config), config_lib.PretrainConfig)


def collect_frames(config: config_lib.PretrainConfig) -> pair_training.FrameDataset:
  """The random-policy frames `config` trains on."""
  logging.info('Collecting %d x %d random-policy steps from %s', config.num_envs,
               config.collect_steps, ', '.join(config.games))
  with stopping.phase('frame collection'):
    return pair_training.collect_random_frames(
        config.games, config.num_envs, config.collect_steps, seed=config.seed)


def run(config: config_lib.PretrainConfig, root_dir: str,
        dataset: Optional[pair_training.FrameDataset] = None):
  """Collects frames, trains (resuming if `root_dir` has a checkpoint), evaluates.

  Args:
    config: the settings.
    root_dir: the run's directory.
    dataset: `collect_frames(config)` if the caller already has it.

  Returns:
    (model, mask quality per game).
  """
  changes = run_files.check_settings(root_dir, settings_of(config),
                                     config_lib.PretrainConfig)
  with run_lease.Lease(root_dir), stopping.phase('mask pre-training'):
    tf.keras.utils.set_random_seed(config.seed)
    if dataset is None:
      dataset = collect_frames(config)
    model = attention.SelfSupervisedAttention(precision=config.precision)
    trainer = pair_training.PairTrainer(
        model, pair_training.mask_pair_loss(config.mask_loss), dataset,
        batch_size=config.batch_size, max_gap=config.max_gap,
        optimizer=a2c.mask_adam(config.adam), seed=config.seed)
    start = {'step': pair_training.checkpointed_step(root_dir),
             'resolved_precision': precisions.resolve(config.precision)}
    if changes:
      start['changed'] = changes
    run_files.record_start(root_dir, settings_of(config), start)
    losses = pair_training.train_on_pairs(trainer, root_dir, config.train_steps,
                                          config.schedule,
                                          pair_training.write_mask_summaries)
    logging.info('Final mask losses: %s', losses)
    with stopping.phase('mask quality (pre-training done and saved)'):
      return model, evaluate(model, config.games, config.eval_frames,
                             config.quality_seed, root_dir)
