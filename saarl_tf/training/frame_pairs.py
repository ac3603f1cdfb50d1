"""Source/target frame pairs (x_s, x_t) for the self-supervised attention loss.

The attention module reconstructs a target frame from a source frame of the same game
play (paper, "Method"). A pair is two distinct time steps of one environment, within
one episode, at most `max_gap` agent steps apart, in either order.
"""

import numpy as np
from tf_agents.trajectories import time_step as ts


def episode_ids(step_types: np.ndarray) -> np.ndarray:
  """Numbers the episodes within each environment's trajectory.

  Args:
    step_types: int [N, T] tf-agents step types.

  Returns:
    int64 [N, T]: equal for steps of the same episode of the same env. A new episode
    starts at every FIRST step and at the step after a LAST one.
  """
  step_types = np.asarray(step_types)
  starts = step_types == ts.StepType.FIRST
  starts[:, 1:] |= step_types[:, :-1] == ts.StepType.LAST
  return np.cumsum(starts, axis=1)


def valid_pair_indices(step_types: np.ndarray, max_gap: int) -> np.ndarray:
  """Every ordered pair of steps that may serve as (source, target).

  Args:
    step_types: int [N, T] tf-agents step types.
    max_gap: the largest |target_step - source_step|, in agent steps; at least 1.

  Returns:
    int64 [M, 3] rows of (env, source_step, target_step), both orders of each pair.
  """
  if max_gap < 1:
    raise ValueError(f'max_gap must be at least 1 agent step, got {max_gap}')
  ids = episode_ids(step_types)
  num_steps = ids.shape[1]
  rows = []
  for gap in range(1, min(max_gap, num_steps - 1) + 1):
    env, early = np.nonzero(ids[:, :-gap] == ids[:, gap:])
    late = early + gap
    rows.append(np.stack([env, early, late], axis=1))
    rows.append(np.stack([env, late, early], axis=1))
  if not rows:
    return np.zeros((0, 3), np.int64)
  return np.concatenate(rows).astype(np.int64)
