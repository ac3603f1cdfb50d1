"""The synthetic sprites environment: specs, exact ground truth, episodes."""

import numpy as np
from tf_agents.environments import utils as env_utils
from tf_agents.trajectories import time_step as ts

from saarl_tf.envs import ground_truth
from saarl_tf.envs import sprites

FIRST, MID, LAST = ts.StepType.FIRST, ts.StepType.MID, ts.StepType.LAST


def _random_steps(env, num_steps, seed=0):
  rng = np.random.default_rng(seed)
  out = [env.reset()]
  for _ in range(num_steps):
    out.append(env.step(rng.integers(0, 3, env.batch_size).astype(np.int32)))
  return ts.TimeStep(*[np.stack(field) for field in zip(*out)])  # [T+1, N, ...]


def test_specs_match_the_atari_format():
  env = sprites.SpritesEnvironment(num_envs=2)
  assert env.observation_spec().shape == (84, 84, 4)
  assert env.observation_spec().dtype == np.uint8
  assert env.action_spec().maximum == len(sprites.ACTION_NAMES) - 1
  # tf-agents' own checker: spec conformance over random episodes.
  env_utils.validate_py_environment(env, episodes=3)


def test_ground_truth_matches_rendered_pixels():
  env = sprites.SpritesEnvironment(num_envs=4, num_distractors=4, seed=3)
  rng = np.random.default_rng(0)
  env.reset()
  for _ in range(30):
    frame = env.step(rng.integers(0, 3, 4).astype(np.int32)).observation[..., -1]
    boxes, centres, masks = env.object_boxes(), env.object_centres(), env.object_masks()
    differs = frame != env.background
    covered = masks.any(axis=1)
    # Every pixel that is not background belongs to some sprite...
    assert not (differs & ~covered).any()
    for i in range(4):
      for j in range(env.num_objects):
        top, left, bottom, right = boxes[i, j]
        # ...each sprite lies inside its box, and its centre is the box centre...
        assert masks[i, j].sum() == masks[i, j, top:bottom, left:right].sum() > 0
        np.testing.assert_allclose(centres[i, j],
                                   [(top + bottom - 1) / 2, (left + right - 1) / 2])
        # ...and the centre pixel shows the sprite unless a sprite drawn later
        # (a lower index) covers it.
        r, c = centres[i, j].astype(int)
        assert masks[i, j, r, c]
        if not masks[i, :j, r, c].any():
          assert frame[i, r, c] == env._intensity[j]  # pylint: disable=protected-access


def test_distractors_move_and_background_is_static():
  env = sprites.SpritesEnvironment(num_envs=2, num_distractors=3)
  env.reset()
  before = env.object_boxes()[:, 2:].copy()
  env.step(np.zeros(2, np.int32))
  assert (env.object_boxes()[:, 2:] != before).any(axis=-1).all()
  background = env.background.copy()
  _random_steps(env, 20)
  np.testing.assert_array_equal(env.background, background)


def _optimal_actions(env):
  """Moves the paddle's centre towards the ball's centre column."""
  centres = env.object_centres()
  offset = centres[:, 0, 1] - centres[:, 1, 1]
  return np.select([offset < -3, offset > 3], [1, 2], 0).astype(np.int32)


def test_optimal_policy_catches_every_ball_and_random_does_not():
  env = sprites.SpritesEnvironment(num_envs=8, seed=1)
  step = env.reset()
  returns, episode_return = [], np.zeros(8)
  lengths, length = [], np.zeros(8, int)
  while len(returns) < 80:
    step = env.step(_optimal_actions(env))
    episode_return += step.reward
    length += 1
    for i in np.flatnonzero(step.step_type == LAST):
      assert step.discount[i] == 0.0
      returns.append(episode_return[i])
      lengths.append(length[i])
      episode_return[i], length[i] = 0.0, 0
  assert np.mean(returns) == sprites.OPTIMAL_RETURN
  assert len(set(lengths[8:])) == 1  # every episode is one fall of the ball
  random_mean, _ = sprites.random_policy_return(num_envs=32, episodes=4)
  assert 0.1 < random_mean < 0.6


def test_episode_boundaries_and_frame_stack_reset():
  env = sprites.SpritesEnvironment(num_envs=3)
  steps = _random_steps(env, 40)
  for t, i in np.argwhere(steps.step_type[:-1] == LAST):
    assert steps.step_type[t + 1, i] == FIRST
    assert steps.reward[t + 1, i] == 0.0
    first_obs = steps.observation[t + 1, i]
    # A new episode's stack repeats its first frame: nothing of the old one.
    for k in range(3):
      np.testing.assert_array_equal(first_obs[..., k], first_obs[..., -1])


def test_sprites_objects_are_named_ball_paddle_and_distractors():
  labelled = ground_truth.labelled_frames('Sprites', 20, seed=0)
  assert labelled.categories.shape == labelled.centres.shape[:2] == (20, 5)
  assert (labelled.categories[:, :2] == ['ball', 'paddle']).all()
  assert (labelled.categories[:, 2:] == 'distractor').all()
