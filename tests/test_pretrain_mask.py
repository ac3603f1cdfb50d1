"""Mask pre-training on random-policy frames: real learning, scored on held-out frames."""

import json
import os

import pytest

from saarl_tf import config as config_lib
from saarl_tf.experiments import pretrain_mask


def sprites_pretrain_config(**overrides) -> config_lib.PretrainConfig:
  """The sprites pre-training of the learning tests (500 updates, lambda_m 3e-3)."""
  settings = dict(games=('Sprites',), num_envs=16, collect_steps=300, train_steps=500,
                  batch_size=16, eval_frames=160, **{
                      'mask_loss.sparsity_weight': 3e-3,
                      'schedule.summary_every': 250, 'schedule.image_every': 500,
                      'schedule.checkpoint_every': 500, 'schedule.progress': False})
  settings.update(overrides)
  return config_lib.replace(config_lib.PretrainConfig(), **settings)


@pytest.mark.slow
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
  config = sprites_pretrain_config(precision=precision)
  _, quality = pretrain_mask.run(config, str(tmp_path))
  sprites_quality = quality['Sprites']
  print(f'sprites mask quality ({precision}):', sprites_quality)
  assert sprites_quality['object_recall'] >= 0.8
  assert sprites_quality['mask_mean'] <= 0.25
  written = json.loads((tmp_path / 'mask_quality.json').read_text())
  assert written['Sprites']['object_recall'] == sprites_quality['object_recall']
  assert os.path.getsize(sprites_quality['overlay']) > 1000
