"""What every batched environment of ours shares: specs, batch size, episode records."""

import collections
from typing import Any, Dict, List, NamedTuple, Optional, Tuple

import numpy as np
from tf_agents.environments import py_environment
from tf_agents.specs import array_spec

FRAME_SIZE = 84


class EpisodeRecord(NamedTuple):
  """One finished game: raw (unclipped) score, agent steps, emulator frames, and
  which env of the batch played it."""
  raw_return: float
  agent_steps: int
  frames: int
  env_index: int = -1


class BatchedFrameEnvironment(py_environment.PyEnvironment):
  """A batched `PyEnvironment` of `num_envs` games with stacked-frame observations.

  Observation spec: uint8 [84, 84, frame_stack]. Action spec: int32 scalar in
  [0, num_actions). Subclasses implement `_reset` and `_step` for the whole batch and
  handle resets themselves (FIRST after every LAST).
  """

  # Emulator frames per agent step (Atari's frame skip); learning curves count both.
  frames_per_step = 1

  def __init__(self, num_envs: int, num_actions: int, frame_stack: int,
               episode_history: int = 1000):
    super().__init__(handle_auto_reset=False)
    if num_envs < 1:
      raise ValueError(f'num_envs must be at least 1, got {num_envs}')
    self._num_envs = num_envs
    self._observation_spec = array_spec.BoundedArraySpec(
        (FRAME_SIZE, FRAME_SIZE, frame_stack), np.uint8, minimum=0, maximum=255,
        name='observation')
    self._action_spec = array_spec.BoundedArraySpec(
        (), np.int32, minimum=0, maximum=num_actions - 1, name='action')
    self._finished = collections.deque(maxlen=episode_history)
    self._num_finished = 0

  def _record_episode(self, raw_return: float, agent_steps: int, frames: int,
                      env_index: int):
    self._finished.append(EpisodeRecord(float(raw_return), int(agent_steps),
                                        int(frames), int(env_index)))
    self._num_finished += 1

  def reseed(self, seed: int):
    """The next `reset` starts every env afresh from `seed` (env i from seed + i)."""
    raise NotImplementedError

  # --- saving and restoring the games in play (exact resume) ------------------------

  def get_state(self) -> Optional[Dict[str, Any]]:
    """Everything the games in play depend on (NumPy arrays, JSON values), so that
    `set_state` continues them exactly; None where the emulator cannot (Atari: a
    resumed run starts new games)."""
    return None

  def set_state(self, state: Dict[str, Any]):
    """Continues the games `get_state` saved."""
    raise NotImplementedError

  def _finished_state(self) -> Dict[str, Any]:
    """The finished-game records' part of `get_state`."""
    return {'finished': np.array(list(self._finished), np.float64).reshape(-1, 4),
            'num_finished': self._num_finished}

  def _set_finished_state(self, state: Dict[str, Any]):
    self._finished.clear()
    self._finished.extend(EpisodeRecord(float(r), int(s), int(f), int(i))
                          for r, s, f, i in state['finished'])
    self._num_finished = int(state['num_finished'])

  # --- stepping one group of envs at a time (`training.rollout`) -------------------
  # The envs form `group_bounds` groups: `send` starts a group's step and may return
  # before it is done, `recv` ends it, so that a learner can act for one group while
  # another steps. Here, one group stepped in `recv`; `AtariEnvironment` overrides
  # these to step its groups on the emulator's threads.

  @property
  def group_bounds(self) -> List[Tuple[int, int]]:
    """[(first env, last env + 1)] of each group, in env order."""
    return [(0, self._num_envs)]

  def send(self, group: int, actions: np.ndarray):
    """Starts one step of `group`'s envs with int32 `actions` [group size]."""
    del group
    self._pending = np.asarray(actions, np.int32)

  def recv(self, group: int):
    """Ends `group`'s step: its `TimeStep` (arrays [group size, ...])."""
    del group
    return self.step(self._pending)

  @property
  def game_scores(self) -> np.ndarray:
    """float64 [num_envs]: each env's raw score so far in its current game (after a
    game's last step, that game's final score)."""
    raise NotImplementedError

  @property
  def num_finished_episodes(self) -> int:
    """Games finished since construction (a counter, never reset)."""
    return self._num_finished

  def finished_episodes(self, last: Optional[int] = None) -> List[EpisodeRecord]:
    """The most recent finished games (raw scores, all lives), oldest first."""
    episodes = list(self._finished)
    return episodes if last is None else episodes[-last:]

  @property
  def batched(self) -> bool:
    return True

  @property
  def batch_size(self) -> int:
    return self._num_envs

  def observation_spec(self):
    return self._observation_spec

  def action_spec(self):
    return self._action_spec
