"""Figure 5: object keypoints from the attention mask against Transporter's.

Both models learn from the same random-policy frames: the attention module (the
pretrain_mask experiment, or a given checkpoint) and Transporter with K keypoints,
through the same pair trainer (`training.pair_training`). On held-out frames with
ground-truth boxes (exact on sprites, OCAtari on Atari) each method's keypoints are
scored for precision and recall (`evaluation.keypoints.precision_recall`) at the same
k; ours also without a fixed k (every NMS peak above a threshold).

Writes under `root_dir`: mask/ (if the mask is trained here), transporter/ (TensorBoard
and checkpoints), keypoints.csv, keypoints.md and keypoints_<game>.png (frames with the
ground-truth boxes, our keypoints and Transporter's).
"""

import os
from typing import Dict, List

from absl import logging
import numpy as np
import tensorflow as tf

from saarl_tf import config as config_lib
from saarl_tf import export
from saarl_tf import plots
from saarl_tf import run_layout
from saarl_tf import storage
from saarl_tf.envs import ground_truth
from saarl_tf.evaluation import keypoints as keypoints_lib
from saarl_tf.experiments import pretrain_mask
from saarl_tf.models import attention
from saarl_tf.models import transporter as transporter_lib
from saarl_tf.training import pair_training

CSV_FIELDS = ('game', 'method', 'k', 'precision', 'recall', 'num_frames',
              'num_keypoints', 'num_objects')


def train_transporter(config: config_lib.KeypointsConfig,
                      dataset: pair_training.FrameDataset,
                      root_dir: str) -> transporter_lib.Transporter:
  """Trains (or resumes) Transporter in `root_dir` (train/, checkpoints/)."""
  settings = config.transporter
  model = transporter_lib.Transporter(config.num_keypoints)
  trainer = pair_training.PairTrainer(
      model, pair_training.transporter_pair_loss, dataset,
      batch_size=settings.batch_size, max_gap=settings.max_gap,
      optimizer=tf.keras.optimizers.Adam(settings.learning_rate,
                                         global_clipnorm=settings.clip_norm),
      seed=config.pretrain.seed)
  pair_training.train_on_pairs(trainer, root_dir, settings.steps,
                               config.pretrain.schedule,
                               pair_training.write_transporter_summaries)
  return model


def compare(mask_model, transporter: transporter_lib.Transporter,
            config: config_lib.KeypointsConfig, root_dir: str) -> List[Dict]:
  """Scores both methods on every game; writes the table and one figure per game."""
  rows = []
  k = config.num_keypoints
  for game in config.pretrain.games:
    labelled = ground_truth.labelled_frames(game, config.pretrain.eval_frames,
                                            config.pretrain.quality_seed)
    observations, boxes = labelled.observations, labelled.boxes
    masks = attention.masks_of(mask_model, observations)
    # A mask may see fewer than k objects; its near-zero peaks are not objects.
    ours = keypoints_lib.keypoints_from_masks(masks, k=k, threshold=config.min_peak)
    ours_threshold = keypoints_lib.keypoints_from_masks(masks, threshold=config.threshold)
    theirs = np.concatenate([
        transporter.keypoints(tf.constant(observations[i:i + 100])).numpy()
        for i in range(0, len(observations), 100)])
    for method, positions, k_label in (
        ('attention mask (ours)', ours.positions, str(k)),
        ('attention mask (ours)', ours_threshold.positions,
         f'peaks >= {config.threshold}'),
        ('Transporter', theirs, str(k))):
      scores = keypoints_lib.precision_recall(positions, boxes, config.margin)
      rows.append(dict(game=game, method=method, k=k_label, **scores))
      logging.info('%s %s k=%s: %s', game, method, k_label, scores)
    plots.plot_keypoints(observations, boxes, ours.positions, theirs,
                         f'{game}: keypoints (ground truth boxes in green)',
                         os.path.join(root_dir, run_layout.keypoints_png(game)))
  storage.write_csv(os.path.join(root_dir, run_layout.KEYPOINTS_CSV), CSV_FIELDS, rows)
  storage.write_atomically(os.path.join(root_dir, run_layout.KEYPOINTS_MD),
                           table_markdown(rows, config))
  return rows


def table_markdown(rows: List[Dict], config: config_lib.KeypointsConfig) -> str:
  lines = [f'Keypoint precision and recall against ground-truth boxes grown by '
           f'{config.margin:g} px, {config.pretrain.eval_frames} frames per game.', '',
           '| game | method | k | precision | recall | keypoints | objects |',
           '| --- | --- | --- | ---: | ---: | ---: | ---: |']
  lines += [f'| {r["game"]} | {r["method"]} | {r["k"]} | {r["precision"]:.3f} | '
            f'{r["recall"]:.3f} | {r["num_keypoints"]} | {r["num_objects"]} |'
            for r in rows]
  return '\n'.join(lines) + '\n'


def run(config: config_lib.KeypointsConfig, root_dir: str) -> List[Dict]:
  """Trains what is missing (mask, Transporter), then compares them."""
  tf.io.gfile.makedirs(root_dir)
  tf.keras.utils.set_random_seed(config.pretrain.seed)
  # One set of frames for both models: the same data, collected once.
  dataset = pretrain_mask.collect_frames(config.pretrain)
  if config.mask_checkpoint:
    mask_model = export.load_attention(config.mask_checkpoint)
  else:
    mask_model, _ = pretrain_mask.run(config.pretrain,
                                      run_layout.mask_run_dir(root_dir),
                                      dataset)
  transporter = train_transporter(
      config, dataset, os.path.join(root_dir, run_layout.TRANSPORTER_RUN_DIR))
  return compare(mask_model, transporter, config, root_dir)
