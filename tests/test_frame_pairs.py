"""Frame pairs for the attention loss: same env, same episode, within the gap."""

import numpy as np
import pytest
from tf_agents.trajectories import time_step as ts

from saarl_tf.training import frame_pairs

FIRST, MID, LAST = ts.StepType.FIRST, ts.StepType.MID, ts.StepType.LAST


def test_episode_ids_split_at_first_and_after_last():
  step_types = np.array([[FIRST, MID, LAST, FIRST, MID, MID],
                         [MID, LAST, FIRST, LAST, FIRST, MID]])
  np.testing.assert_array_equal(frame_pairs.episode_ids(step_types),
                                [[1, 1, 1, 2, 2, 2], [0, 0, 1, 1, 2, 2]])


def test_valid_pairs_stay_in_one_episode_and_within_the_gap():
  step_types = np.array([[FIRST, MID, MID, LAST, FIRST, MID, MID, MID]])
  pairs = frame_pairs.valid_pair_indices(step_types, max_gap=2)
  as_set = {tuple(p) for p in pairs}
  # Episode 1 = steps 0..3, episode 2 = steps 4..7; gaps 1 and 2, both orders.
  expected = set()
  for lo, hi in ((0, 3), (4, 7)):
    for s in range(lo, hi + 1):
      for t in range(lo, hi + 1):
        if 1 <= abs(s - t) <= 2:
          expected.add((0, s, t))
  assert as_set == expected and len(pairs) == len(expected)


def test_no_pairs_across_episode_ends_and_a_clear_error_for_a_bad_gap():
  step_types = np.array([[LAST, LAST, LAST]])
  assert frame_pairs.valid_pair_indices(step_types, 3).shape == (0, 3)
  with pytest.raises(ValueError, match='max_gap must be at least 1'):
    frame_pairs.valid_pair_indices(step_types, 0)
