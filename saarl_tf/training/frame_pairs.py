"""Source/target frame pairs (x_s, x_t) for the self-supervised attention loss.

The attention module reconstructs a target frame from a source frame of the same game
play (paper, "Method"). A pair is two distinct time steps of one environment, within
one episode, at most `max_gap` agent steps apart, in either order.
"""

from typing import NamedTuple

import numpy as np
from tf_agents.trajectories import time_step as ts


class FramePairs(NamedTuple):
  """A batch of P pairs and where they came from.

  source, target: uint8 [P, H, W, C'] frames (C' = 1 with `newest_frame_only`).
  env, source_step, target_step: int64 [P] indices into the trajectory batch.
  """
  source: np.ndarray
  target: np.ndarray
  env: np.ndarray
  source_step: np.ndarray
  target_step: np.ndarray


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


def sample_frame_pairs(observations: np.ndarray,
                       step_types: np.ndarray,
                       num_pairs: int,
                       max_gap: int,
                       rng: np.random.Generator,
                       newest_frame_only: bool = True) -> FramePairs:
  """Draws pairs uniformly, with replacement, from all valid pairs of a batch.

  Args:
    observations: uint8 [N, T, H, W, C] stacked frames, newest frame last.
    step_types: int [N, T] tf-agents step types of the same steps.
    num_pairs: P, the number of pairs returned.
    max_gap: the largest distance between source and target, in agent steps.
    rng: the random generator to draw from.
    newest_frame_only: keep only the newest frame of each stack (C' = 1), which is
      what the attention module sees.

  Returns:
    `FramePairs` with P pairs.

  Raises:
    ValueError: no two steps of one episode lie within `max_gap` of each other.
  """
  observations = np.asarray(observations)
  if observations.ndim != 5 or observations.shape[:2] != np.shape(step_types):
    raise ValueError(
        f'observations must be [N, T, H, W, C] matching step_types [N, T]; got '
        f'{observations.shape} and {np.shape(step_types)}')
  candidates = valid_pair_indices(step_types, max_gap)
  if not len(candidates):
    raise ValueError(f'no two steps of one episode lie within max_gap={max_gap} '
                     'agent steps in this batch')
  env, source_step, target_step = candidates[
      rng.integers(0, len(candidates), num_pairs)].T
  frames = observations[..., -1:] if newest_frame_only else observations
  return FramePairs(frames[env, source_step], frames[env, target_step],
                    env, source_step, target_step)
