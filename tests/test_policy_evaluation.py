"""Evaluation games: complete games, raw scores."""


import numpy as np
import pytest
from tf_agents.environments import tf_py_environment
from tf_agents.trajectories import time_step as ts

from a2c_helpers import config as _config
from saarl_tf.training import a2c_training
from saarl_tf.training import run_files

FIRST, MID, LAST = ts.StepType.FIRST, ts.StepType.MID, ts.StepType.LAST


@pytest.mark.slow
def test_evaluation_plays_complete_games_with_unclipped_scores(tmp_path):
  """Each evaluation game is a whole MsPacman game (all 3 lives), its score the sum of
  the emulator's raw rewards, though training rewards are clipped; the noop mode's
  games are those of a plain env with training's options (the record's mode)."""
  run = a2c_training.A2CRun(
      _config(game='MsPacman', variant='baseline', num_envs=2, eval_every=1250, eval_games=2,
              total_frames=10**9, precision='float32'), str(tmp_path))
  assert run.config.eval.modes == ('noop', 'sticky')      # both by default
  games = run.evaluators['noop'].play(seed=21)
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



def _open_loop_games(sticky_action_prob, num_envs=6):
  """(raw score, agent steps) of each env's first MsPacman game under one fixed action
  script, every env started alike (no no-ops)."""
  from saarl_tf.envs import atari  # pylint: disable=g-import-not-at-top
  env = atari.AtariEnvironment('MsPacman', num_envs=num_envs, seed=1_000_000,
                               clip_rewards=False, noop_max=0,
                               sticky_action_prob=sticky_action_prob)
  env.reset()
  num_actions = int(env.action_spec().maximum) + 1
  firsts, step = {}, 0
  while len(firsts) < num_envs:
    env.step(np.full(num_envs, (step // 8) % num_actions, np.int32))
    step += 1
    for record in env.finished_episodes():
      firsts.setdefault(record.env_index, (record.raw_return, record.agent_steps))
  env.close()
  return [firsts[i] for i in range(num_envs)]


def test_sticky_actions_make_games_differ_where_the_emulator_replays_one():
  """ALE is deterministic: six MsPacman envs started alike and played alike play one
  game six times. With the sticky evaluation mode's p = 0.25 the same script plays
  six different games."""
  assert len(set(_open_loop_games(0.0))) == 1
  assert len(set(_open_loop_games(0.25))) >= 5


def test_a_run_evaluates_in_both_modes_and_only_the_sticky_one_sticks(tmp_path):
  """Evaluation envs: noop as training's envs (the record's mode unchanged), sticky
  with --eval_sticky_action_prob; each mode logs to its own file."""
  run = a2c_training.A2CRun(
      _config(game='Breakout', variant='baseline', num_envs=2, eval_every=1,
              eval_games=2, total_frames=2 * 5 * 4, precision='float32',
              **{'eval.sticky_action_prob': 0.5}), str(tmp_path))
  assert {mode: evaluator.env.sticky_action_prob
          for mode, evaluator in run.evaluators.items()} == {'noop': 0.0,
                                                             'sticky': 0.5}
  assert run.env.sticky_action_prob == 0.0
  done = run.run()
  run.close()
  for mode in ('noop', 'sticky'):
    rows = run_files.read_evaluations(str(tmp_path), mode)
    assert rows[:, 1].tolist() == [1, 1], mode             # one evaluation, 2 games
  assert (tmp_path / 'eval.csv').exists() and (tmp_path / 'eval_sticky.csv').exists()
  assert 1 <= done['eval_sticky_distinct_games'] <= 2
  assert np.isfinite(done['eval_raw_return_mean'])


def test_the_sample_mode_plays_sampled_actions_beside_greedy_ones_and_is_reported(
    tmp_path):
  """--eval_modes=noop,sample: the noop games follow the greedy policy, the sample
  games the sampling (collect) policy, each mode its own log; the report reads the
  third log into a table of its own."""
  from saarl_tf.experiments import report  # pylint: disable=g-import-not-at-top
  run = a2c_training.A2CRun(
      _config(game='Sprites', variant='baseline', num_envs=2, eval_every=2,
              eval_games=3, total_frames=4 * 2 * 5, precision='float32',
              **{'eval.modes': ('noop', 'sample')}), str(tmp_path))
  assert run.evaluators['noop'].policy is run.agent.policy
  assert run.evaluators['sample'].policy is run.agent.collect_policy
  done = run.run()
  run.close()
  rows = run_files.read_evaluations(str(tmp_path), 'sample')
  assert rows[:, 1].tolist() == [2] * 3 + [4] * 3          # two evaluations, 3 games
  assert not (tmp_path / 'eval_sticky.csv').exists()
  assert done['eval_sample_raw_return_mean'] == pytest.approx(rows[3:, 3].mean())
  logs = report.read_run(str(tmp_path))
  np.testing.assert_array_equal(logs.sample_evaluations, rows)
  paths = report.write_report([logs], str(tmp_path / 'report'), 'T', 40)
  summary = open(paths['summary']).read()
  assert '## Evaluation games, sampled actions' in summary
  assert '## Evaluation games, sticky actions' not in summary


def test_distinct_games_counts_a_replay_shifted_by_its_no_ops_once():
  """The record's first MsPacman evaluation: ten games of score 70, 525-531 steps,
  one game; a game of the same score 100 steps longer is another."""
  rows = np.array([[80, 1, i, 70., length] for i, length in
                   enumerate([526, 525, 530, 531, 527, 527, 531, 528, 526, 528])]
                  + [[160, 2, 0, 3., 50], [160, 2, 1, 4., 50], [160, 2, 2, 3., 150],
                     [160, 2, 3, 3., 60]])
  np.testing.assert_array_equal(run_files.distinct_games(rows), [1, 3])
