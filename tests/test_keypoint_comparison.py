"""Figure 5 on sprites: keypoints from the mask against Transporter's."""

import pytest

from saarl_tf import config as config_lib
from saarl_tf.experiments import keypoint_comparison
from test_pretrain_mask import sprites_pretrain_config


@pytest.mark.slow
def test_keypoints_on_sprites_after_short_training(tmp_path):
  """Our keypoints land on the sprites; Transporter trains and answers in kind.

  The mask is pre-trained as in the mask learning test (sprites frames, 500 updates,
  lambda_m 3e-3); Transporter trains briefly on the same frames.
  """
  config = config_lib.KeypointsConfig(
      num_keypoints=5, pretrain=sprites_pretrain_config(),
      transporter=config_lib.TransporterConfig(steps=30, batch_size=8))
  rows = keypoint_comparison.run(config, str(tmp_path))
  by_method = {(row['method'], row['k']): row for row in rows}
  ours = by_method[('attention mask (ours)', '5')]
  print('sprites keypoints:', rows)
  assert ours['precision'] >= 0.8
  assert 160 <= ours['num_keypoints'] <= 5 * 160   # about one per object it sees
  assert ours['recall'] >= 0.5
  theirs = by_method[('Transporter', '5')]
  assert theirs['num_keypoints'] == 5 * 160        # same format: 5 per frame, pixels
  assert 0 <= theirs['precision'] <= 1 and 0 <= theirs['recall'] <= 1
  assert (tmp_path / 'keypoints.csv').exists() and (tmp_path / 'keypoints.md').exists()
  assert (tmp_path / 'keypoints_Sprites.png').read_bytes().startswith(b'\x89PNG')
