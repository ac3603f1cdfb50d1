"""The joint variant's ring of each env's recent frames (`agents.recent_frames`)."""

import numpy as np
import pytest
import tensorflow as tf

from saarl_tf.agents import recent_frames


def _steps(num_envs, first, count):
  """uint8 [N, T, 84, 84, 2]: env e's step t has newest frame value 10 e + t."""
  values = (10 * np.arange(num_envs)[:, None] + np.arange(first, first + count)[None])
  frames = np.broadcast_to(values[..., None, None, None], (num_envs, count, 84, 84, 2))
  return tf.constant(frames.astype(np.uint8))


def test_the_ring_keeps_the_newest_capacity_frames_of_each_env():
  ring = recent_frames.RecentFrames(num_envs=2, capacity=3)
  ring.add(_steps(2, 0, 5))                 # steps 0..4: slots hold 3, 4, 2
  assert int(ring.num_filled) == 3
  kept = ring.frames.numpy()[:, :, 0, 0, 0]  # [slot, env]
  np.testing.assert_array_equal(sorted(kept[:, 0]), [2, 3, 4])
  np.testing.assert_array_equal(sorted(kept[:, 1]), [12, 13, 14])


def test_pairs_are_two_different_frames_of_one_env_in_zero_one():
  ring = recent_frames.RecentFrames(num_envs=4, capacity=5, seed=1)
  ring.add(_steps(4, 0, 5))
  for _ in range(20):
    source, target = ring.sample_pairs()
    assert source.shape == (4, 84, 84, 1) and source.dtype == tf.float32
    s = np.round(source.numpy()[:, 0, 0, 0] * 255).astype(int)
    t = np.round(target.numpy()[:, 0, 0, 0] * 255).astype(int)
    assert np.all(s != t)                                   # distinct slots
    np.testing.assert_array_equal(s // 10, np.arange(4))    # env e's own frames
    np.testing.assert_array_equal(t // 10, np.arange(4))


def test_fewer_pairs_come_from_different_envs():
  ring = recent_frames.RecentFrames(num_envs=6, capacity=4, seed=2)
  ring.add(_steps(6, 0, 4))
  source, _ = ring.sample_pairs(num_pairs=3)
  envs = np.round(source.numpy()[:, 0, 0, 0] * 255).astype(int) // 10
  assert len(envs) == 3 and len(set(envs)) == 3


def test_a_ring_of_one_frame_cannot_form_pairs():
  with pytest.raises(ValueError, match='capacity >= 2'):
    recent_frames.RecentFrames(num_envs=1, capacity=1)
