"""Offline training on frame pairs: collection, exact resume, summaries, both models."""

import glob
import os

import numpy as np
import pytest
import tensorflow as tf

from saarl_tf import config as config_lib
from saarl_tf.agents import a2c
from saarl_tf.models import attention
from saarl_tf.models import transporter
from saarl_tf.training import pair_training

QUIET = config_lib.ScheduleConfig(progress=False)


def _small_dataset():
  return pair_training.collect_random_frames(['Sprites'], num_envs=2,
                                             steps_per_env=30, seed=4)


def _trainer(dataset):
  tf.keras.utils.set_random_seed(7)   # the same initial weights every time
  return pair_training.PairTrainer(
      attention.SelfSupervisedAttention(),
      pair_training.mask_pair_loss(config_lib.MaskLossConfig()), dataset,
      batch_size=4, max_gap=10, optimizer=a2c.mask_adam(config_lib.AdamConfig()), seed=3)


def _train(trainer, root, num_steps, **schedule):
  return pair_training.train_on_pairs(
      trainer, str(root), num_steps, config_lib.replace(QUIET, **schedule),
      pair_training.write_mask_summaries)


def _summary_tags(log_dir):
  tags = set()
  for path in glob.glob(os.path.join(log_dir, 'events.out.tfevents.*')):
    for event in tf.compat.v1.train.summary_iterator(path):
      tags.update(value.tag for value in event.summary.value)
  return tags


def test_collect_random_frames_from_two_games():
  dataset = pair_training.collect_random_frames(['Sprites', 'Pong'], num_envs=2,
                                                steps_per_env=5, seed=0)
  assert dataset.frames.shape == (4, 6, 84, 84) and dataset.frames.dtype == np.uint8
  assert dataset.step_types.shape == (4, 6)
  assert dataset.games == ['Sprites', 'Sprites', 'Pong', 'Pong']
  assert not np.array_equal(dataset.frames[0], dataset.frames[2])


@pytest.mark.slow
def test_resumed_training_equals_uninterrupted_training(tmp_path):
  dataset = _small_dataset()
  straight = _trainer(dataset)
  _train(straight, tmp_path / 'straight', 6, summary_every=2, image_every=3)

  interrupted_dir = str(tmp_path / 'interrupted')
  first = _trainer(dataset)
  _train(first, interrupted_dir, 3)
  resumed = _trainer(dataset)          # a new process would build exactly this
  assert int(resumed.step.numpy()) == 0
  _train(resumed, interrupted_dir, 6, summary_every=2)
  assert int(resumed.step.numpy()) == 6
  for a, b in zip(straight.model.variables, resumed.model.variables):
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6,
                               err_msg=a.name)
  # The pair sampler continues where it stopped, rather than starting over.
  np.testing.assert_array_equal(straight.rng.state.numpy(), resumed.rng.state.numpy())
  assert any(np.any(a.numpy() != b.numpy()) for a, b in
             zip(straight.model.variables, first.model.variables))

  tags = _summary_tags(os.path.join(str(tmp_path / 'straight'), 'train'))
  for tag in ('mask_loss/reconstruction', 'mask_loss/auto_reconstruction',
              'mask_loss/sparsity', 'mask_loss/total', 'mask/mean',
              'mask/fraction_above_half', 'speed/steps_per_second',
              'pairs/source', 'pairs/target', 'pairs/reconstruction',
              'pairs/auto_reconstruction', 'pairs/target_mask_overlay'):
    assert tag in tags, tag
  # The mask overlay is upscaled 3x from 84x84, with a colour scale and a label strip.
  width, height = _image_size(os.path.join(str(tmp_path / 'straight'), 'train'),
                              'pairs/target_mask_overlay')
  assert width > 3 * 84 and height > 3 * 84


def _image_size(log_dir, tag):
  """(width, height) of the first image summary `tag` (TF2 stores them first)."""
  for path in glob.glob(os.path.join(log_dir, 'events.out.tfevents.*')):
    for event in tf.compat.v1.train.summary_iterator(path):
      for value in event.summary.value:
        if value.tag == tag:
          width, height = value.tensor.string_val[:2]
          return int(width), int(height)
  raise AssertionError(f'no image summary {tag}')


def test_restore_attention_reads_a_pretraining_checkpoint(tmp_path):
  trainer = _trainer(_small_dataset())
  _train(trainer, tmp_path, 2)
  restored = attention.restore_attention(str(tmp_path / 'checkpoints'))
  frames = tf.constant(np.random.default_rng(0).integers(0, 255, (3, 84, 84, 4)),
                       tf.uint8)
  np.testing.assert_allclose(restored.mask(frames), trainer.model.mask(frames),
                             atol=1e-6)
  missing = str(tmp_path / 'nowhere')
  try:
    attention.restore_attention(missing)
    raise AssertionError('expected FileNotFoundError')
  except FileNotFoundError as error:
    assert missing in str(error) and '\n' not in str(error)


def test_transporter_trains_through_the_same_loop_with_its_own_summaries(tmp_path):
  dataset = _small_dataset()
  tf.keras.utils.set_random_seed(7)
  model = transporter.Transporter(num_keypoints=3)
  trainer = pair_training.PairTrainer(
      model, pair_training.transporter_pair_loss, dataset, batch_size=4, max_gap=5,
      optimizer=a2c.mask_adam(config_lib.AdamConfig()), seed=3)
  before = [v.numpy().copy() for v in model.trainable_variables]
  losses = pair_training.train_on_pairs(
      trainer, str(tmp_path), 4, config_lib.replace(QUIET, summary_every=2,
                                                    image_every=4),
      pair_training.write_transporter_summaries)
  assert np.isfinite(losses['total']) and int(trainer.step.numpy()) == 4
  assert any(not np.array_equal(a, b.numpy())
             for a, b in zip(before, model.trainable_variables))
  tags = _summary_tags(os.path.join(str(tmp_path), 'train'))
  assert {'transporter_loss/total', 'speed/steps_per_second',
          'pairs/reconstruction'} <= tags
  assert os.path.exists(os.path.join(str(tmp_path), 'checkpoints', 'checkpoint'))
