"""The batched Atari environment, on real ALE games."""

import numpy as np
import pytest
from tf_agents.drivers import dynamic_step_driver
from tf_agents.environments import tf_py_environment
from tf_agents.policies import random_tf_policy
from tf_agents.trajectories import time_step as ts

from saarl_tf.envs import atari

FIRST, MID, LAST = ts.StepType.FIRST, ts.StepType.MID, ts.StepType.LAST


def _run(env, num_steps, seed=0):
  """Steps env with uniform random actions; returns the stacked time steps."""
  rng = np.random.default_rng(seed)
  num_actions = env.action_spec().maximum + 1
  steps = [env.reset()]
  for _ in range(num_steps):
    steps.append(env.step(
        rng.integers(0, num_actions, env.batch_size).astype(np.int32)))
  return ts.TimeStep(*[np.stack(field) for field in zip(*steps)])  # [T+1, N, ...]


@pytest.mark.parametrize('name, game_id', [
    ('MsPacman', 'ms_pacman'), ('ms_pacman', 'ms_pacman'),
    ('JourneyEscape', 'journey_escape'), ('Asteroids', 'asteroids'),
    ('Carnival', 'carnival'), ('Assault', 'assault'),
    ('PongNoFrameskip-v4', 'pong'), ('ALE/Breakout-v5', 'breakout')])
def test_game_names_as_the_paper_writes_them(name, game_id):
  assert atari.ale_game_id(name) == game_id


def test_unknown_game_is_one_line_naming_close_matches():
  with pytest.raises(ValueError) as error:
    atari.AtariEnvironment('MsPacmn', num_envs=1)
  message = str(error.value)
  assert "'MsPacmn'" in message and 'ms_pacman' in message
  assert '\n' not in message
  with pytest.raises(ValueError, match='Unknown Atari game'):
    atari.ale_game_id('Zzyzx')


def test_specs_and_batch_shapes():
  env = atari.AtariEnvironment('Pong', num_envs=3)
  assert env.batched and env.batch_size == 3
  obs_spec, action_spec = env.observation_spec(), env.action_spec()
  assert obs_spec.shape == (84, 84, 4) and obs_spec.dtype == np.uint8
  assert action_spec.shape == () and action_spec.dtype == np.int32
  assert (action_spec.minimum, action_spec.maximum) == (0, 5)  # Pong's minimal set
  steps = _run(env, 3)
  assert steps.observation.shape == (4, 3, 84, 84, 4)
  assert steps.observation.dtype == np.uint8
  assert steps.reward.dtype == np.float32 and steps.discount.dtype == np.float32
  assert steps.step_type.dtype == np.int32
  np.testing.assert_array_equal(steps.step_type[0], FIRST)
  np.testing.assert_array_equal(steps.step_type[1:], MID)
  # The stack holds 4 distinct, consecutive frames, newest last.
  obs = steps.observation[-1, 0]
  np.testing.assert_array_equal(obs[..., :3], steps.observation[-2, 0][..., 1:])


def test_termination_then_first_step_after_game_over():
  env = atari.AtariEnvironment('Breakout', num_envs=2, episodic_life=False,
                               clip_rewards=False)
  steps = _run(env, 1500)
  step_type, discount = steps.step_type, steps.discount
  t, i = np.argwhere(step_type == LAST)[0]
  assert discount[t, i] == 0.0
  assert step_type[t + 1, i] == FIRST
  assert discount[t + 1, i] == 1.0 and steps.reward[t + 1, i] == 0.0
  # Steps strictly inside an episode are MID with discount 1.
  inside = step_type == MID
  np.testing.assert_array_equal(discount[inside], 1.0)
  # FIRST only ever follows LAST (or the reset).
  firsts = np.argwhere(step_type[1:] == FIRST)
  assert all(step_type[t, i] == LAST for t, i in firsts)
  assert env.num_finished_episodes >= 1


def test_truncation_keeps_discount_one_and_differs_from_termination():
  env = atari.AtariEnvironment('Pong', num_envs=2, max_episode_frames=200)
  steps = _run(env, 80)
  lasts = np.argwhere(steps.step_type == LAST)
  assert len(lasts) >= 2  # both envs hit the time limit; Pong lasts far longer
  for t, i in lasts:
    assert steps.discount[t, i] == 1.0  # bootstrap through a time limit
    assert steps.step_type[t + 1, i] == FIRST
  assert all(e.frames >= 200 for e in env.finished_episodes())


def test_episodic_life_ends_the_rl_episode_but_not_the_game():
  env = atari.AtariEnvironment('Breakout', num_envs=2, episodic_life=True)
  steps = _run(env, 300)
  lasts = np.argwhere(steps.step_type == LAST)
  assert len(lasts) >= 2
  t, i = lasts[0]
  assert steps.discount[t, i] == 0.0 and steps.step_type[t + 1, i] == FIRST
  # Breakout has 5 lives: the first life lost is not a finished game.
  lives_lost_before_first_game_over = len(lasts)
  assert lives_lost_before_first_game_over > env.num_finished_episodes


def test_raw_return_is_the_sum_of_unclipped_rewards():
  kwargs = dict(num_envs=3, seed=5, episodic_life=False, max_episode_frames=1200)
  clipped = atari.AtariEnvironment('MsPacman', clip_rewards=True, **kwargs)
  unclipped = atari.AtariEnvironment('MsPacman', clip_rewards=False, **kwargs)
  clipped_steps, raw_steps = _run(clipped, 400), _run(unclipped, 400)
  np.testing.assert_array_equal(clipped_steps.observation, raw_steps.observation)
  assert set(np.unique(clipped_steps.reward)) <= {0.0, 1.0}
  assert raw_steps.reward.max() >= 10  # MsPacman pellets: clipping mattered

  # Sum the unclipped rewards game by game, from its FIRST step to its LAST, in the
  # order the games finished.
  expected = []
  for i in range(3):
    start = 0
    for t, step_type in enumerate(raw_steps.step_type[:, i]):
      if step_type == FIRST:
        start = t
      elif step_type == LAST:
        expected.append((t, i, raw_steps.reward[start:t + 1, i].sum()))
  expected = [total for _, _, total in sorted(expected)]
  got = [e.raw_return for e in clipped.finished_episodes()]
  assert len(got) == len(expected) >= 3
  np.testing.assert_allclose(got, expected)
  assert got == [e.raw_return for e in unclipped.finished_episodes()]


def test_same_seed_same_frames_and_other_seed_other_frames():
  a = _run(atari.AtariEnvironment('Breakout', num_envs=2, seed=11), 100)
  b = _run(atari.AtariEnvironment('Breakout', num_envs=2, seed=11), 100)
  c = _run(atari.AtariEnvironment('Breakout', num_envs=2, seed=12), 100)
  np.testing.assert_array_equal(a.observation, b.observation)
  np.testing.assert_array_equal(a.step_type, b.step_type)
  assert not np.array_equal(a.observation, c.observation)


def test_runs_under_tf_py_environment_and_dynamic_step_driver():
  tf_env = tf_py_environment.TFPyEnvironment(
      atari.AtariEnvironment('Pong', num_envs=4))
  policy = random_tf_policy.RandomTFPolicy(tf_env.time_step_spec(),
                                           tf_env.action_spec())
  trajectories = []
  driver = dynamic_step_driver.DynamicStepDriver(
      tf_env, policy, observers=[trajectories.append], num_steps=20)
  time_step, _ = driver.run()
  assert time_step.observation.shape == (4, 84, 84, 4)
  assert len(trajectories) == 5  # 4 envs x 5 steps >= 20
  assert trajectories[0].observation.dtype.name == 'uint8'
  assert trajectories[0].action.shape == (4,)


def test_frame_stack_starts_from_zeros_after_a_life_loss():
  """As the authors' VecPyTorchFrameStack: every RL episode, a life included, starts
  from [0, 0, 0, x]; real frames then fill the stack from the newest end."""
  zeroed = atari.AtariEnvironment('Breakout', num_envs=2, seed=3)
  carried = atari.AtariEnvironment('Breakout', num_envs=2, seed=3,
                                   zero_frame_stack=False)
  steps, carried_steps = _run(zeroed, 300), _run(carried, 300)
  np.testing.assert_array_equal(steps.step_type, carried_steps.step_type)
  # Only the older frames differ: the newest frame is the same game.
  np.testing.assert_array_equal(steps.observation[..., -1],
                                carried_steps.observation[..., -1])
  np.testing.assert_array_equal(steps.observation[0, ..., :3], 0)   # the reset
  life_losses = [(t, i) for t, i in np.argwhere(steps.step_type == LAST)
                 if t + 4 < len(steps.step_type)]
  assert life_losses, 'random Breakout play loses a life within 300 steps'
  carried_over = []
  for t, i in life_losses:
    first = t + 1
    assert steps.step_type[first, i] == FIRST
    if (steps.step_type[first:first + 4, i] == LAST).any():
      continue                               # a life shorter than the stack
    obs = steps.observation[:, i]
    for k in range(4):                       # k steps after the FIRST
      np.testing.assert_array_equal(obs[first + k, ..., :3 - k], 0)
      np.testing.assert_array_equal(obs[first + k, ..., 3 - k:],
                                    carried_steps.observation[first + k, i, ..., 3 - k:])
    assert obs[first, ..., 3].any()
    carried_over.append(carried_steps.observation[first, i, ..., :3].any())
  # Without zeroing the stack carries the frames from before a life loss; only after
  # a game over (ALE's own reset) does it start from zeros.
  assert sum(carried_over) >= len(carried_over) - carried.num_finished_episodes >= 3


@pytest.mark.slow
def test_with_sticky_actions_every_breakout_game_still_launches_its_ball():
  """ALE's one-frame FIRE reset, swallowed by a sticky NOOP, left 12 of 40 games
  without a ball (a greedy policy that never fires then plays 108,000 frames of
  nothing); the first step of each game presses FIRE, so every game starts."""
  num_envs = 40
  env = atari.AtariEnvironment('Breakout', num_envs=num_envs, seed=5,
                               sticky_action_prob=0.25)
  env.reset()
  lost_a_life = np.zeros(num_envs, bool)
  for _ in range(400):
    lost_a_life |= env.step(np.zeros(num_envs, np.int32)).step_type == ts.StepType.LAST
  env.close()
  assert lost_a_life.all(), int(lost_a_life.sum())
