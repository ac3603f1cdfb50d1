"""Learning curves and their statistics over seeds (`evaluation.curves`)."""

import numpy as np

from saarl_tf.evaluation import curves


def test_run_curve_is_the_mean_of_the_last_games():
  episodes = np.array([[10, 1.0], [20, 3.0], [30, 5.0], [40, 7.0]])
  curve = curves.run_curve(episodes, np.array([5, 10, 25, 40, 50]), window=2)
  np.testing.assert_allclose(curve, [np.nan, 1.0, 2.0, 6.0, 6.0])


def test_eval_curve_is_the_mean_of_each_evaluations_games():
  # (frames, update, game, raw score, agent steps): two evaluations of two games.
  evaluations = np.array([[100, 1, 0, 2.0, 9], [100, 1, 1, 4.0, 9],
                          [200, 2, 0, 10.0, 9], [200, 2, 1, 20.0, 9]])
  curve = curves.eval_curve(evaluations, np.array([100, 150, 200]))
  np.testing.assert_allclose(curve, [3.0, np.nan, 15.0])


def test_the_interval_holds_the_mean_and_needs_three_complete_seeds():
  rng = np.random.default_rng(0)
  runs = rng.normal(5.0, 1.0, size=(5, 4))
  runs[0, 0] = np.nan                       # one seed has no value at point 0 yet
  mean, low, high = curves.mean_and_ci(runs)
  assert np.isnan(low[0]) and np.isnan(high[0])
  assert np.all(low[1:] <= mean[1:]) and np.all(mean[1:] <= high[1:])
  assert np.all(high[1:] - low[1:] > 0)
  _, low, high = curves.mean_and_ci(runs[:curves.MIN_SEEDS_FOR_CI - 1, 1:])
  assert np.all(np.isnan(low)) and np.all(np.isnan(high))


def test_the_interval_is_reproducible_for_a_seed_whatever_numpys_global_state():
  # rliable draws from NumPy's global state: without the module seeding it, two
  # calls on 20 seeds differed in the second digit.
  runs = np.random.default_rng(1).normal(size=(20, 3))
  first = curves.mean_and_ci(runs, seed=3)
  np.random.seed(12345)
  np.testing.assert_array_equal(first, curves.mean_and_ci(runs, seed=3))
  assert np.random.randint(10**9) == np.random.RandomState(12345).randint(10**9), (
      "the caller's global random state was not put back")
  assert not np.array_equal(first[1], curves.mean_and_ci(runs, seed=4)[1])


def test_probability_of_improvement_counts_pairs_of_runs():
  assert curves.probability_of_improvement(np.array([3., 4., 5.]),
                                           np.array([0., 1., 2.]))[0] == 1.0
  assert curves.probability_of_improvement(np.array([0., 1., 2.]),
                                           np.array([3., 4., 5.]))[0] == 0.0
  # 1 beats 0 and ties 1 (a half); 0 ties 0: (1 + 0.5 + 0.5) / 4 pairs.
  probability, low, high = curves.probability_of_improvement(np.array([0., 1.]),
                                                             np.array([0., 1.]))
  assert probability == 0.5 and low <= 0.5 <= high


def test_the_frame_grid_ends_at_the_budget():
  grid = curves.frame_grid(1000, points=4)
  np.testing.assert_allclose(grid, [250, 500, 750, 1000])
