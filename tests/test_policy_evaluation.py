"""Evaluation games: complete games, raw scores."""


import numpy as np
from tf_agents.environments import tf_py_environment
from tf_agents.trajectories import time_step as ts

from a2c_helpers import config as _config
from saarl_tf.training import a2c_training

FIRST, MID, LAST = ts.StepType.FIRST, ts.StepType.MID, ts.StepType.LAST


def test_evaluation_plays_complete_games_with_unclipped_scores(tmp_path):
  """Each evaluation game is a whole MsPacman game (all 3 lives), its score the sum of
  the emulator's raw rewards, though training rewards are clipped."""
  run = a2c_training.A2CRun(
      _config(game='MsPacman', variant='baseline', num_envs=2, eval_every=1250, eval_games=2,
              total_frames=10**9, precision='float32'), str(tmp_path))
  games = run.evaluator.play(seed=21)
  assert [game.env_index for game in games] == [0, 1]

  # The same greedy policy, the same seed, on envs that do not clip: sum each env's
  # raw rewards until its game ends, counting the lives it loses on the way. (In
  # float32: an untrained net's logits are near-tied, and bfloat16's rounding in
  # graph and eager mode can differ enough to change an argmax.)
  from saarl_tf.envs import atari  # pylint: disable=g-import-not-at-top
  reference = atari.AtariEnvironment('MsPacman', num_envs=2, seed=21,
                                     clip_rewards=False)
  tf_env = tf_py_environment.TFPyEnvironment(reference)
  time_step = tf_env.reset()
  totals, lasts, done = np.zeros(2), np.zeros(2, int), np.zeros(2, bool)
  while not done.all():
    time_step = tf_env.step(run.agent.policy.action(time_step).action)
    finished = {r.env_index for r in reference.finished_episodes()}
    live = ~done
    totals[live] += time_step.reward.numpy()[live]
    lasts[live] += time_step.step_type.numpy()[live] == LAST
    done = np.array([i in finished for i in range(2)])
  np.testing.assert_allclose([game.raw_return for game in games], totals)
  assert all(count == 3 for count in lasts), lasts       # MsPacman's three lives
  assert max(totals) > 20 and all(total % 10 == 0 for total in totals)
  run.close()
