"""Figure 5: object keypoints from the attention mask against Transporter's.

Both models learn from the same random-policy frames: the attention module (the
pretrain_mask experiment, or a given checkpoint) and Transporter with K keypoints.
On fresh frames with ground-truth boxes (exact on sprites, OCAtari on Atari) each
method's keypoints are scored for precision and recall (`keypoints.precision_recall`)
at the same k; ours also without a fixed k (every NMS peak above a threshold).

Writes under `root_dir`: mask/ (if the mask is trained here), transporter/
(checkpoints), keypoints.csv, keypoints.md and keypoints_<game>.png (frames with the
ground-truth boxes, our keypoints and Transporter's).
"""

import csv
import os
from typing import Dict, List, NamedTuple, Optional, Sequence

from absl import logging
import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
import numpy as np
import tensorflow as tf
from tf_agents.utils import common

from saarl_tf import keypoints as keypoints_lib
from saarl_tf.experiments import pretrain_mask
from saarl_tf.models import transporter as transporter_lib
from saarl_tf.training import mask_pretraining

CSV_FIELDS = ('game', 'method', 'k', 'precision', 'recall', 'num_frames',
              'num_keypoints', 'num_objects')


class KeypointsConfig(NamedTuple):
  """The comparison's settings; the launcher's flags fill it."""
  games: Sequence[str] = ('MsPacman', 'Asteroids', 'Assault')
  num_keypoints: int = 5              # K of Transporter on Atari; ours uses the same k
  threshold: float = 0.5              # ours without a fixed k: every peak above it
  min_peak: float = 0.1               # ours with k: weaker peaks are not objects
  margin: float = 6.0                 # pixels around every box: half a 7x7 mask cell
  mask_checkpoint: Optional[str] = None
  pretrain: pretrain_mask.PretrainConfig = pretrain_mask.PretrainConfig()
  transporter_steps: int = 5000
  transporter_batch_size: int = 16
  transporter_max_gap: int = 20       # Transporter's pairs: t and t + up to 20
  transporter_learning_rate: float = 1e-3
  eval_frames: int = 200
  seed: int = 0


class TransporterTrainer(mask_pretraining.MaskPretrainer):
  """Adam on Transporter's L2 loss over the same kind of frame pairs."""

  @tf.function
  def train_step(self):
    source, target = self.sample_pairs()
    with tf.GradientTape() as tape:
      outputs = self.model((source, target), training=True)
      loss = transporter_lib.transporter_loss(target, outputs)
    variables = self.model.trainable_variables
    self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    self.step.assign_add(1)
    return loss


def train_transporter(config: KeypointsConfig, dataset: mask_pretraining.FrameDataset,
                      root_dir: str) -> transporter_lib.Transporter:
  """Trains (or resumes) Transporter in `root_dir/checkpoints`."""
  model = transporter_lib.Transporter(config.num_keypoints)
  trainer = TransporterTrainer(
      model, dataset, batch_size=config.transporter_batch_size,
      max_gap=config.transporter_max_gap,
      learning_rate=config.transporter_learning_rate, seed=config.seed)
  checkpointer = common.Checkpointer(
      ckpt_dir=os.path.join(root_dir, 'checkpoints'), max_to_keep=1, model=model,
      optimizer=trainer.optimizer, rng=trainer.rng, step=trainer.step)
  progbar = tf.keras.utils.Progbar(config.transporter_steps)
  while int(trainer.step.numpy()) < config.transporter_steps:
    loss = trainer.train_step()
    step = int(trainer.step.numpy())
    if step % 50 == 0 or step == config.transporter_steps:
      progbar.update(step, [('transporter_loss', float(loss))])
    if step % 1000 == 0:
      checkpointer.save(global_step=step)
  checkpointer.save(global_step=trainer.step.numpy())
  return model


def compare(mask_model, transporter: transporter_lib.Transporter,
            config: KeypointsConfig, root_dir: str) -> List[Dict]:
  """Scores both methods on every game; writes the table and one figure per game."""
  rows = []
  k = config.num_keypoints
  for game in config.games:
    labelled = pretrain_mask.labelled_frames(game, config.eval_frames, config.seed)
    observations, boxes = labelled.observations, labelled.boxes
    masks = mask_pretraining.masks_of(mask_model, observations)
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
    figure_path = os.path.join(root_dir, f'keypoints_{game}.png')
    plot_keypoints(observations, boxes, ours.positions, theirs, game, figure_path)
  with open(os.path.join(root_dir, 'keypoints.csv'), 'w', newline='') as f:
    writer = csv.DictWriter(f, CSV_FIELDS)
    writer.writeheader()
    writer.writerows(rows)
  with open(os.path.join(root_dir, 'keypoints.md'), 'w') as f:
    f.write(table_markdown(rows, config))
  return rows


def table_markdown(rows: List[Dict], config: KeypointsConfig) -> str:
  lines = [f'Keypoint precision and recall against ground-truth boxes grown by '
           f'{config.margin:g} px, {config.eval_frames} frames per game.', '',
           '| game | method | k | precision | recall | keypoints | objects |',
           '| --- | --- | --- | ---: | ---: | ---: | ---: |']
  lines += [f'| {r["game"]} | {r["method"]} | {r["k"]} | {r["precision"]:.3f} | '
            f'{r["recall"]:.3f} | {r["num_keypoints"]} | {r["num_objects"]} |'
            for r in rows]
  return '\n'.join(lines) + '\n'


def plot_keypoints(observations, boxes, ours, theirs, game: str, path: str,
                   num_frames: int = 4):
  """Frames with ground-truth boxes (green), ours (red +) and Transporter's (blue x)."""
  figure, axes = plt.subplots(1, num_frames, figsize=(3 * num_frames, 3.3))
  picks = np.linspace(0, len(observations) - 1, num_frames).astype(int)
  for axis, i in zip(np.atleast_1d(axes), picks):
    axis.imshow(observations[i, ..., -1], cmap='gray', vmin=0, vmax=255)
    for top, left, bottom, right in boxes[i][~np.isnan(boxes[i][:, 0])]:
      axis.add_patch(plt.Rectangle((left - 0.5, top - 0.5), right - left,
                                   bottom - top, fill=False, color='lime', lw=1))
    axis.scatter(ours[i, :, 1], ours[i, :, 0], marker='+', color='red', s=60,
                 label='attention mask (ours)')
    axis.scatter(theirs[i, :, 1], theirs[i, :, 0], marker='x', color='deepskyblue',
                 s=40, label='Transporter')
    axis.set_axis_off()
  np.atleast_1d(axes)[0].legend(loc='lower left', fontsize=7)
  figure.suptitle(f'{game}: keypoints (ground truth boxes in green)')
  figure.tight_layout()
  figure.savefig(path, dpi=100)
  plt.close(figure)


def run(config: KeypointsConfig, root_dir: str) -> List[Dict]:
  """Trains what is missing (mask, Transporter), then compares them."""
  tf.io.gfile.makedirs(root_dir)
  tf.keras.utils.set_random_seed(config.seed)
  pretrain = config.pretrain._replace(games=tuple(config.games))
  # One set of frames for both models: the same data, collected once.
  dataset = pretrain_mask.collect_frames(pretrain)
  if config.mask_checkpoint:
    mask_model = mask_pretraining.restore_attention(config.mask_checkpoint)
  else:
    mask_model, _ = pretrain_mask.run(pretrain, os.path.join(root_dir, 'mask'),
                                      dataset)
  transporter = train_transporter(config, dataset,
                                  os.path.join(root_dir, 'transporter'))
  return compare(mask_model, transporter, config, root_dir)
