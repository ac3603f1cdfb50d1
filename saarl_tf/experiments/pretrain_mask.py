"""Pre-trains the attention mask offline on random-policy frames and scores it.

The first half of the paper's multi-task and transfer protocols. Writes, under
`root_dir`: `config.json` (what the mask was trained on, with which loss weights; the
mask export copies it), TensorBoard logs (train/), checkpoints (checkpoints/),
`mask_quality.json`
(object recall, mask mass on objects and mask mean against ground truth) and
`mask_overlay.png` (evaluation frames with the mask in red).
"""

import json
import os
from typing import Dict, NamedTuple, Optional, Sequence

from absl import logging
import numpy as np
import tensorflow as tf

from saarl_tf import envs
from saarl_tf import mask_metrics
from saarl_tf.envs import atari_ground_truth
from saarl_tf.envs import sprites
from saarl_tf.models import attention
from saarl_tf.training import mask_pretraining


class PretrainConfig(NamedTuple):
  """What `run` needs; the launcher's flags fill it (defaults: authors' code)."""
  games: Sequence[str] = ('Asteroids', 'Assault', 'MsPacman')
  num_envs: int = 16
  collect_steps: int = 2500
  train_steps: int = 20_000
  batch_size: int = 16
  max_gap: int = 59
  learning_rate: float = 1e-3
  clip_norm: float = 0.5
  delta: float = 0.01
  sparsity_weight: float = 1e-3
  seed: int = 0
  eval_frames: int = 200
  summary_every: int = 100
  image_every: int = 1000
  checkpoint_every: int = 1000
  precision: str = 'auto'      # models/precisions.py


def labelled_frames(game: str, num_frames: int,
                    seed: int) -> atari_ground_truth.LabelledFrames:
  """Random-policy observations with their objects' centres, boxes and pixels.

  Sprites gives exact ground truth; Atari games use OCAtari (the `eval` extra).
  """
  if game.lower() != envs.SPRITES.lower():
    return atari_ground_truth.collect_labelled_frames(game, num_frames, seed=seed)
  num_envs = 16
  env = sprites.SpritesEnvironment(num_envs=num_envs, seed=seed + 1000)
  rng = np.random.default_rng(seed)
  env.reset()
  observations, centres, boxes, pixels = [], [], [], []
  while len(observations) * num_envs < num_frames:
    step = env.step(rng.integers(0, 3, num_envs).astype(np.int32))
    observations.append(step.observation)
    centres.append(env.object_centres())
    boxes.append(env.object_boxes().astype(np.float32))
    pixels.append(env.object_masks().any(axis=1))
  return atari_ground_truth.LabelledFrames(
      *(np.concatenate(part)[:num_frames]
        for part in (observations, centres, boxes, pixels)))


def mask_quality_on(model: attention.SelfSupervisedAttention, game: str,
                    num_frames: int, seed: int):
  """(labelled frames, masks float32 [F, 7, 7], `mask_metrics.mask_quality` dict)."""
  labelled = labelled_frames(game, num_frames, seed)
  masks = mask_pretraining.masks_of(model, labelled.observations)
  return labelled, masks, mask_metrics.mask_quality(masks, labelled.centres,
                                                    labelled.object_pixels)


def overlay_png(observations: np.ndarray, masks: np.ndarray, path: str,
                columns: int = 8):
  """Writes a grid of frames with their masks (red) as a PNG, scaled 2x.

  Args:
    observations: uint8 [F, 84, 84, C]; the newest frame is shown.
    masks: float [F, 7, 7] in [0, 1].
  """
  frames = tf.convert_to_tensor(observations[:columns * 2][..., -1:], tf.float32) / 255
  rgb = mask_pretraining.mask_overlay(
      frames, tf.convert_to_tensor(masks[:columns * 2], tf.float32))
  count = int(rgb.shape[0])
  rows = -(-count // columns)
  rgb = tf.concat([rgb, tf.zeros([rows * columns - count, 84, 84, 3])], axis=0)
  grid = tf.reshape(rgb, [rows, columns, 84, 84, 3])
  grid = tf.reshape(tf.transpose(grid, [0, 2, 1, 3, 4]), [rows * 84, columns * 84, 3])
  grid = tf.image.resize(grid, [rows * 168, columns * 168], method='nearest')
  tf.io.write_file(path, tf.io.encode_png(tf.cast(grid * 255, tf.uint8)))


def evaluate(model: attention.SelfSupervisedAttention, games: Sequence[str],
             num_frames: int, seed: int, root_dir: str) -> Dict[str, Dict[str, float]]:
  """Mask quality per game; writes mask_quality.json and one overlay PNG per game."""
  results = {}
  for game in games:
    try:
      labelled, masks, results[game] = mask_quality_on(model, game, num_frames, seed)
    except (ImportError, ValueError) as error:
      logging.warning('No mask quality for %s: %s', game, error)
      continue
    results[game]['overlay'] = os.path.join(root_dir, f'mask_overlay_{game}.png')
    overlay_png(labelled.observations, masks, results[game]['overlay'])
    logging.info('Mask quality on %s: %s', game, results[game])
  with tf.io.gfile.GFile(os.path.join(root_dir, 'mask_quality.json'), 'w') as f:
    json.dump(results, f, indent=2)
  return results


CONFIG_JSON = 'config.json'


def write_config(config: PretrainConfig, root_dir: str):
  """Records the run's settings and how many frames it trains on, as JSON."""
  record = dict(config._asdict(), games=list(config.games),
                num_frames=len(config.games) * config.num_envs
                * (config.collect_steps + 1))
  with tf.io.gfile.GFile(os.path.join(root_dir, CONFIG_JSON), 'w') as f:
    json.dump(record, f, indent=2)


def collect_frames(config: PretrainConfig) -> mask_pretraining.FrameDataset:
  """The random-policy frames `config` trains on."""
  logging.info('Collecting %d x %d random-policy steps from %s', config.num_envs,
               config.collect_steps, ', '.join(config.games))
  return mask_pretraining.collect_random_frames(
      config.games, config.num_envs, config.collect_steps, seed=config.seed)


def run(config: PretrainConfig, root_dir: str,
        dataset: Optional[mask_pretraining.FrameDataset] = None):
  """Collects frames, trains (resuming if `root_dir` has a checkpoint), evaluates.

  Args:
    config: the settings.
    root_dir: the run's directory.
    dataset: `collect_frames(config)` if the caller already has it.

  Returns:
    (model, mask quality per game).
  """
  tf.io.gfile.makedirs(root_dir)
  write_config(config, root_dir)
  tf.keras.utils.set_random_seed(config.seed)
  if dataset is None:
    dataset = collect_frames(config)
  model = attention.SelfSupervisedAttention(precision=config.precision)
  trainer = mask_pretraining.MaskPretrainer(
      model, dataset, batch_size=config.batch_size, max_gap=config.max_gap,
      learning_rate=config.learning_rate, clip_norm=config.clip_norm,
      delta=config.delta, sparsity_weight=config.sparsity_weight, seed=config.seed)
  losses = mask_pretraining.pretrain_mask(
      trainer, root_dir, config.train_steps, summary_every=config.summary_every,
      image_every=config.image_every, checkpoint_every=config.checkpoint_every)
  logging.info('Final mask losses: %s', losses)
  return model, evaluate(model, config.games, config.eval_frames, config.seed,
                         root_dir)
