"""Learning curves and their statistics over seeds, as the reports give them.

A run's training curve at frame f is the mean raw score of the last 100 games that
ended by f (what TensorBoard's `episode/raw_return_mean100` shows), read on a common
frame grid so that seeds can be averaged. Its evaluation curve is the mean raw score
of the games of each evaluation (eval.csv). Confidence intervals are rliable's
percentile bootstrap over seeds (Agarwal et al. 2021), P(X > Y) its probability of
improvement. NumPy and rliable only.
"""

from typing import Dict, Tuple
import warnings

from absl import logging
import numpy as np
from rliable import library as rly
from rliable import metrics as rly_metrics

WINDOW = 100            # games in a training curve's mean
CI_SIZE = 0.95
BOOTSTRAP_REPS = 2000


def run_curve(episodes: np.ndarray, grid: np.ndarray, window: int = WINDOW
              ) -> np.ndarray:
  """One run's mean-of-last-`window` raw score at each grid frame.

  Args:
    episodes: float [E, >=2] rows of (frames at the game's end, raw score, ...),
      ordered by frames.
    grid: float [G] frames.

  Returns:
    float [G]; NaN where no game had ended yet.
  """
  curve = np.full(len(grid), np.nan)
  if not len(episodes):
    return curve
  ends = np.searchsorted(episodes[:, 0], grid, side='right')
  cumulative = np.concatenate([[0.0], np.cumsum(episodes[:, 1])])
  for i, end in enumerate(ends):
    if end:
      start = max(0, end - window)
      curve[i] = (cumulative[end] - cumulative[start]) / (end - start)
  return curve


def eval_curve(evaluations: np.ndarray, frames: np.ndarray) -> np.ndarray:
  """One run's mean evaluation score at each of `frames` (NaN where not evaluated).

  Args:
    evaluations: float [E, >=4] rows of (frames, update, game, raw score, ...).
    frames: float [G] the evaluation frames to read.

  Returns:
    float [G].
  """
  curve = np.full(len(frames), np.nan)
  for i, frame in enumerate(frames):
    scores = evaluations[evaluations[:, 0] == frame, 3]
    if len(scores):
      curve[i] = scores.mean()
  return curve


# Fewer seeds than this: no interval is estimated (reports say so, figures draw no
# band).
MIN_SEEDS_FOR_CI = 3


def mean_and_ci(runs: np.ndarray, seed: int = 0
                ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
  """The mean over seeds at each point and its 95% bootstrap confidence interval.

  Args:
    runs: float [S, G], one row per seed; NaN where a seed has no value yet.
    seed: the bootstrap's random state, so that reports are reproducible.

  Returns:
    (mean, low, high), each float [G]. The interval is rliable's percentile
    bootstrap over seeds at points where every seed has a value, NaN elsewhere and
    wherever there are fewer than MIN_SEEDS_FOR_CI seeds (a bootstrap over one or
    two values is no interval).
  """
  runs = np.asarray(runs, np.float64)
  with warnings.catch_warnings():   # points before any game ended are NaN
    warnings.simplefilter('ignore', RuntimeWarning)
    mean = np.nanmean(runs, axis=0)
  low, high = np.full_like(mean, np.nan), np.full_like(mean, np.nan)
  complete = np.all(np.isfinite(runs), axis=0)
  if complete.any() and len(runs) >= MIN_SEEDS_FOR_CI:
    scores = runs[:, None, complete]            # runs x 1 task x points
    mean_of = lambda x: np.mean(x, axis=(0, 1))
    _, intervals = _bootstrap({'runs': scores}, mean_of, seed)
    low[complete], high[complete] = intervals['runs']
  return mean, low, high


def probability_of_improvement(x: np.ndarray, y: np.ndarray, seed: int = 0
                               ) -> Tuple[float, float, float]:
  """P(X > Y): how likely a run of X scores above a run of Y, with its 95% CI.

  rliable's probability of improvement (Agarwal et al. 2021): the Mann-Whitney U
  statistic over all pairs of runs, divided by their number (0.5 for ties), its
  interval a stratified bootstrap of each side's runs.

  Args:
    x, y: float [S_x] and [S_y], one score per seed (e.g. each seed's area under the
      curve), no NaN.
    seed: the bootstrap's random state.

  Returns:
    (probability, low, high).
  """
  pair = [np.asarray(x, np.float64)[:, None], np.asarray(y, np.float64)[:, None]]
  points, intervals = _bootstrap({'pair': pair},
                                 rly_metrics.probability_of_improvement, seed)
  low, high = np.ravel(intervals['pair'])
  return float(points['pair']), float(low), float(high)


def _bootstrap(scores: Dict, func, seed: int):
  """rliable's stratified bootstrap at this module's size and CI, reproducibly.

  rliable 1.2 draws its resamples from NumPy's global random state
  (`StratifiedBootstrap.update_indices` calls `np.random.choice`) and ignores the
  `random_state` it passes on: the same report gave intervals differing in the second
  digit from one process to the next. So the global state is seeded for the call
  and put back after it.
  """
  # rliable logs 'Calculating estimates for ...' at INFO on every call (16 lines a
  # report); arch 7.2 announces a future random_state API.
  verbosity = logging.get_verbosity()
  logging.set_verbosity(logging.WARNING)
  global_state = np.random.get_state()
  np.random.seed(seed)
  try:
    with warnings.catch_warnings():
      warnings.simplefilter('ignore', FutureWarning)
      return rly.get_interval_estimates(
          scores, func, reps=BOOTSTRAP_REPS, confidence_interval_size=CI_SIZE,
          random_state=np.random.RandomState(seed))
  finally:
    np.random.set_state(global_state)
    logging.set_verbosity(verbosity)


def frame_grid(total_frames: int, points: int = 50) -> np.ndarray:
  """`points` evenly spaced frames up to `total_frames`, float [points]."""
  return np.linspace(total_frames / points, total_frames, points)
