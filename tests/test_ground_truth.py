"""OCAtari ground truth mapped onto our 84x84 observations (the `eval` extra)."""

import numpy as np
import pytest

from saarl_tf.envs import ground_truth

pytest.importorskip('ocatari')


def test_mspacman_boxes_sit_on_the_moving_objects():
  labelled = ground_truth.collect_labelled_frames('MsPacman', 6, seed=1)
  assert labelled.observations.shape == (6, 84, 84, 4)
  assert labelled.observations.dtype == np.uint8
  visible = np.isfinite(labelled.boxes[..., 0])
  # Ms. Pac-Man and four ghosts; the 150+ pellets are scenery and left out.
  assert 1 <= visible.sum(axis=1).min() and visible.sum(axis=1).max() <= 6
  centres = labelled.centres[visible]
  assert ((centres >= 0) & (centres < 84)).all()
  assert labelled.object_pixels.any(axis=(1, 2)).all()
  # Each object is named by OCAtari's category; padding rows by ''.
  assert ((labelled.categories != '') == visible).all()
  assert 'Player' in labelled.categories
  # Objects are drawn: their boxes are not flat, unlike most of the maze's pixels.
  newest = labelled.observations[..., -1].astype(float)
  for frame, boxes in zip(newest, labelled.boxes):
    for top, left, bottom, right in boxes[np.isfinite(boxes[:, 0])]:
      patch = frame[int(top):int(np.ceil(bottom)), int(left):int(np.ceil(right))]
      assert patch.size and patch.std() > 0


def test_unknown_game_fails_clearly():
  with pytest.raises(ValueError, match='Unknown Atari game'):
    ground_truth.collect_labelled_frames('NotAGame', 2)
