"""Learning curves in the paper's form: mean and spread over seeds against frames.

A run's curve at frame f is the mean raw score of the last 100 games that ended by f
(what TensorBoard's `episode/raw_return_mean100` shows), read on a common frame grid
so that seeds can be averaged.
"""

from typing import Dict, Sequence, Tuple
import warnings

import matplotlib
matplotlib.use('Agg')   # files only; no display on servers and CI
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
import numpy as np

WINDOW = 100


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


def frame_grid(total_frames: int, points: int = 50) -> np.ndarray:
  """`points` evenly spaced frames up to `total_frames`, float [points]."""
  return np.linspace(total_frames / points, total_frames, points)


def plot_learning_curves(curves: Dict[Tuple[str, str], np.ndarray], grid: np.ndarray,
                         games: Sequence[str], variants: Sequence[str], title: str,
                         path: str):
  """One panel per game; per variant, the mean over seeds and a +-1 std band.

  Args:
    curves: (game, variant) -> float [seeds, G] run curves.
    grid: float [G] frames.
    games, variants: panel and line order.
    title: the figure's title.
    path: the PNG to write.
  """
  figure, axes = plt.subplots(1, len(games), figsize=(4.2 * len(games), 3.4),
                              squeeze=False)
  for axis, game in zip(axes[0], games):
    for variant in variants:
      runs = curves.get((game, variant))
      if runs is None or np.all(np.isnan(runs)):
        continue
      with warnings.catch_warnings():   # grid points before any game ended are NaN
        warnings.simplefilter('ignore', RuntimeWarning)
        mean, std = np.nanmean(runs, axis=0), np.nanstd(runs, axis=0)
      line, = axis.plot(grid, mean, label=f'{variant} ({len(runs)} seeds)')
      axis.fill_between(grid, mean - std, mean + std, color=line.get_color(),
                        alpha=0.2)
    axis.set_title(game)
    axis.set_xlabel('emulator frames')
    axis.set_ylabel(f'raw score (mean of last {WINDOW} games)')
    axis.ticklabel_format(axis='x', style='sci', scilimits=(0, 0))
    axis.legend(fontsize=8)
  figure.suptitle(title)
  figure.tight_layout()
  figure.savefig(path, dpi=100)
  plt.close(figure)
