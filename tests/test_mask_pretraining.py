"""Offline mask pre-training: resume, summaries, and real learning."""

import glob
import json
import os

import numpy as np
import pytest
import tensorflow as tf

from saarl_tf.experiments import pretrain_mask
from saarl_tf.models import attention
from saarl_tf.training import mask_pretraining


def _small_dataset():
  return mask_pretraining.collect_random_frames(['Sprites'], num_envs=2,
                                                steps_per_env=30, seed=4)


def _trainer(dataset):
  tf.keras.utils.set_random_seed(7)   # the same initial weights every time
  return mask_pretraining.MaskPretrainer(
      attention.SelfSupervisedAttention(), dataset, batch_size=4, max_gap=10, seed=3)


def _summary_tags(log_dir):
  tags = set()
  for path in glob.glob(os.path.join(log_dir, 'events.out.tfevents.*')):
    for event in tf.compat.v1.train.summary_iterator(path):
      tags.update(value.tag for value in event.summary.value)
  return tags


def test_collect_random_frames_from_two_games():
  dataset = mask_pretraining.collect_random_frames(['Sprites', 'Pong'], num_envs=2,
                                                   steps_per_env=5, seed=0)
  assert dataset.frames.shape == (4, 6, 84, 84) and dataset.frames.dtype == np.uint8
  assert dataset.step_types.shape == (4, 6)
  assert dataset.games == ['Sprites', 'Sprites', 'Pong', 'Pong']
  assert not np.array_equal(dataset.frames[0], dataset.frames[2])


def test_resumed_training_equals_uninterrupted_training(tmp_path):
  dataset = _small_dataset()
  straight = _trainer(dataset)
  mask_pretraining.pretrain_mask(straight, str(tmp_path / 'straight'), num_steps=6,
                                 summary_every=2, image_every=3, progress=False)

  interrupted_dir = str(tmp_path / 'interrupted')
  first = _trainer(dataset)
  mask_pretraining.pretrain_mask(first, interrupted_dir, num_steps=3, progress=False)
  resumed = _trainer(dataset)          # a new process would build exactly this
  assert int(resumed.step.numpy()) == 0
  mask_pretraining.pretrain_mask(resumed, interrupted_dir, num_steps=6,
                                 summary_every=2, progress=False)
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


def test_restore_attention_reads_a_pretraining_checkpoint(tmp_path):
  trainer = _trainer(_small_dataset())
  mask_pretraining.pretrain_mask(trainer, str(tmp_path), num_steps=2, progress=False)
  restored = mask_pretraining.restore_attention(str(tmp_path / 'checkpoints'))
  frames = tf.constant(np.random.default_rng(0).integers(0, 255, (3, 84, 84, 4)),
                       tf.uint8)
  np.testing.assert_allclose(restored.mask(frames), trainer.model.mask(frames),
                             atol=1e-6)
  missing = str(tmp_path / 'nowhere')
  try:
    mask_pretraining.restore_attention(missing)
    raise AssertionError('expected FileNotFoundError')
  except FileNotFoundError as error:
    assert missing in str(error) and '\n' not in str(error)


@pytest.mark.parametrize('precision', ['float32', 'mixed_bfloat16'])
def test_mask_learns_the_moving_sprites(tmp_path, precision):
  """Real learning: after a short CPU pre-training the mask covers the sprites.

  Random-policy frames of the sprites game (ball, paddle, three distractors), the
  paper's loss and optimiser (delta 0.01, Adam 1e-3, clip 0.5, 16 pairs per update),
  scored on fresh frames of other seeds against exact ground truth. lambda_m, the
  paper's knob for how much of the frame the mask may cover, is 3e-3 rather than the
  Atari default 1e-3: sprites are larger and higher in contrast than Atari objects,
  and at 1e-3 this scene's mask mean was still 0.34 after 1,000 updates (measured),
  too slow for CI; at 3e-3 it was 0.22 after 500 updates, with recall 0.84.
  """
  config = pretrain_mask.PretrainConfig(
      games=('Sprites',), num_envs=16, collect_steps=300, train_steps=500,
      batch_size=16, sparsity_weight=3e-3, eval_frames=160, summary_every=250,
      image_every=500, checkpoint_every=500, precision=precision)
  _, quality = pretrain_mask.run(config, str(tmp_path))
  sprites_quality = quality['Sprites']
  print(f'sprites mask quality ({precision}):', sprites_quality)
  assert sprites_quality['object_recall'] >= 0.8
  assert sprites_quality['mask_mean'] <= 0.25
  written = json.loads((tmp_path / 'mask_quality.json').read_text())
  assert written['Sprites']['object_recall'] == sprites_quality['object_recall']
  assert os.path.getsize(sprites_quality['overlay']) > 1000
