"""The batched frame-environment base both games share (`envs.batched`)."""

import numpy as np
import pytest

from saarl_tf.envs import batched
from saarl_tf.envs import sprites


class _Bookkeeping(batched.BatchedFrameEnvironment):
  """The base's bookkeeping alone: no game is played."""

  def _reset(self):
    raise NotImplementedError

  def _step(self, action):
    raise NotImplementedError


def test_specs_are_one_env_and_the_batch_is_the_env_count():
  env = _Bookkeeping(num_envs=3, num_actions=5, frame_stack=4)
  assert env.batched and env.batch_size == 3
  assert env.observation_spec().shape == (84, 84, 4)
  assert env.observation_spec().dtype == np.uint8
  assert (env.action_spec().minimum, env.action_spec().maximum) == (0, 4)


def test_a_batch_needs_one_env():
  with pytest.raises(ValueError, match='num_envs must be at least 1, got 0'):
    _Bookkeeping(num_envs=0, num_actions=2, frame_stack=4)


def test_finished_games_are_kept_newest_last_up_to_the_history_and_counted_ever():
  env = _Bookkeeping(num_envs=2, num_actions=2, frame_stack=1,
                                        episode_history=3)
  for i in range(5):
    env._record_episode(float(i), 10 + i, 40 + 4 * i, i % 2)
  assert env.num_finished_episodes == 5
  assert [r.raw_return for r in env.finished_episodes()] == [2.0, 3.0, 4.0]
  assert env.finished_episodes(last=1) == [batched.EpisodeRecord(4.0, 14, 56, 0)]


def test_a_real_game_records_its_finished_games_through_the_base():
  env = sprites.SpritesEnvironment(num_envs=2, seed=0)
  env.reset()
  rng = np.random.default_rng(0)
  while env.num_finished_episodes < 2:
    env.step(rng.integers(0, 4, 2).astype(np.int32))
  records = env.finished_episodes()
  assert len(records) == env.num_finished_episodes
  assert all(r.agent_steps > 0 and r.env_index in (0, 1) for r in records)
