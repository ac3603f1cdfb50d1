"""Batched tf-agents environment over ale-py's native C++ vector environment.

`AtariVectorEnv` already does the Atari preprocessing of OpenAI baselines in C++
threads (frame skip 4 with max-pooling, 84x84 grayscale, 4-frame stack, noop and FIRE
resets). This module adapts it to tf-agents' `PyEnvironment` contract:

* observations are NHWC uint8 `[N, 84, 84, 4]` (ALE emits NCHW);
* step types follow tf-agents: FIRST after every (auto)reset, LAST with discount 0 on
  termination, LAST with discount 1 on truncation (time limit) so returns bootstrap;
* episodic life is done here, as baselines' `EpisodicLifeEnv` does it: a life loss ends
  the RL episode (LAST, discount 0) but the game goes on. ale-py 0.12's own
  `episodic_life` resets the whole game on every life loss instead, so it stays off;
* training rewards may be clipped to their sign, while the raw game score of every
  finished game (all lives) is recorded for learning curves.
"""

import collections
import difflib
import re
from typing import List, NamedTuple, Optional

import numpy as np
from ale_py import roms
from ale_py.vector_env import AtariVectorEnv
from tf_agents.environments import py_environment
from tf_agents.specs import array_spec
from tf_agents.trajectories import time_step as ts

# ALE's minimal action sets name FIRE this way; after a life loss it restarts play.
_FIRE_ACTION_NAME = 'FIRE'


class EpisodeRecord(NamedTuple):
  """One finished game: raw (unclipped) score, agent steps and emulator frames."""
  raw_return: float
  agent_steps: int
  frames: int


def ale_game_id(name: str) -> str:
  """Maps a game name as the paper writes it ('MsPacman') or an ale id to the ale id.

  Args:
    name: 'MsPacman', 'ms_pacman', 'JourneyEscape', 'Pong', ... Gym-style suffixes such
      as 'NoFrameskip-v4' and an 'ALE/' prefix are accepted too.

  Returns:
    The ale-py ROM id, e.g. 'ms_pacman'.

  Raises:
    ValueError: the name is no ROM that ale-py ships; the message names close matches.
  """
  stem = re.sub(r'^ALE/', '', name.strip())
  stem = re.sub(r'(NoFrameskip)?-v\d+$', '', stem)
  game_id = re.sub(r'(?<=[a-z0-9])(?=[A-Z])', '_', stem).lower()
  known = roms.get_all_rom_ids()
  if game_id in known:
    return game_id
  close = difflib.get_close_matches(game_id, known, n=3, cutoff=0.6)
  hint = f'did you mean {", ".join(close)}?' if close else (
      f'ale-py ships {len(known)} games, e.g. ms_pacman, asteroids, pong')
  raise ValueError(f'Unknown Atari game {name!r}: {hint}')


class AtariEnvironment(py_environment.PyEnvironment):
  """`num_envs` Atari games stepped together; a batched tf-agents `PyEnvironment`.

  Observation: uint8 `[num_envs, 84, 84, frame_stack]`, newest frame last.
  Action: int32 `[num_envs]`, an index into the game's minimal action set.
  Reward: float32 `[num_envs]`, sign-clipped when `clip_rewards`.
  """

  def __init__(self,
               game: str,
               num_envs: int = 16,
               seed: int = 0,
               clip_rewards: bool = True,
               episodic_life: bool = True,
               noop_max: int = 30,
               sticky_action_prob: float = 0.0,
               max_episode_frames: int = 108_000,
               frame_stack: int = 4,
               num_threads: int = 0,
               episode_history: int = 1000):
    """Creates the environment.

    Args:
      game: game name ('MsPacman' or 'ms_pacman'); see `ale_game_id`.
      num_envs: number of games stepped in parallel (the batch size).
      seed: seeds env i with `seed + i`; the same seed replays the same frames.
      clip_rewards: whether training rewards are clipped to {-1, 0, 1} (baselines).
      episodic_life: whether a life loss ends the RL episode (the game goes on).
      noop_max: at most this many no-op actions after every game reset.
      sticky_action_prob: probability that the emulator repeats the previous action
        (0 as in the paper and baselines; 0.25 for the Machado et al. protocol).
      max_episode_frames: emulator frames after which a game is truncated (108,000
        frames = 30 minutes of play, the usual limit).
      frame_stack: frames per observation.
      num_threads: emulator threads; 0 lets ale-py choose.
      episode_history: how many finished games `finished_episodes` keeps at most.
    """
    super().__init__(handle_auto_reset=False)
    if num_envs < 1:
      raise ValueError(f'num_envs must be at least 1, got {num_envs}')
    self._game_id = ale_game_id(game)
    self._num_envs = num_envs
    self._seed = seed
    self._clip_rewards = clip_rewards
    self._episodic_life = episodic_life
    self._vec_env = AtariVectorEnv(
        self._game_id,
        num_envs,
        num_threads=num_threads,
        max_num_frames_per_episode=max_episode_frames,
        repeat_action_probability=sticky_action_prob,
        stack_num=frame_stack,
        noop_max=noop_max,
        episodic_life=False,
        reward_clipping=False,
        use_fire_reset=True)
    action_names = [a.name for a in self._vec_env.ale.get_action_set()]
    self._action_names = action_names
    self._life_restart_action = (action_names.index(_FIRE_ACTION_NAME)
                                 if _FIRE_ACTION_NAME in action_names else 0)
    self._observation_spec = array_spec.BoundedArraySpec(
        (84, 84, frame_stack), np.uint8, minimum=0, maximum=255, name='observation')
    self._action_spec = array_spec.BoundedArraySpec(
        (), np.int32, minimum=0, maximum=len(action_names) - 1, name='action')
    self._finished = collections.deque(maxlen=episode_history)
    self._num_finished = 0
    self._has_reset = False

  # --- tf-agents contract -------------------------------------------------------

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

  def _reset(self):
    seed = self._seed if not self._has_reset else None
    self._has_reset = True
    obs, info = self._vec_env.reset(seed=seed)
    n = self._num_envs
    self._lives = info['lives'].copy()
    self._game_over = np.zeros(n, bool)    # the last step ended the game
    self._life_lost = np.zeros(n, bool)    # the last step lost a life, game goes on
    self._raw_return = np.zeros(n, np.float64)
    self._agent_steps = np.zeros(n, np.int64)
    return ts.TimeStep(
        step_type=np.full(n, ts.StepType.FIRST, np.int32),
        reward=np.zeros(n, np.float32),
        discount=np.ones(n, np.float32),
        observation=self._to_nhwc(obs))

  def _step(self, action):
    action = np.asarray(action, np.int32)
    # After a life loss the agent's action is replaced by the restart action, as
    # baselines' reset would do; after a game over ALE resets and ignores it.
    restarting = self._game_over | self._life_lost
    if self._life_lost.any():
      action = np.where(self._life_lost, self._life_restart_action, action)
    obs, raw_reward, terminated, truncated, info = self._vec_env.step(action)
    lives = info['lives']

    # A game over resets the per-game accounting before this step's (reset) reward.
    self._raw_return[self._game_over] = 0.0
    self._agent_steps[self._game_over] = 0
    raw_reward = raw_reward.astype(np.float64)
    self._raw_return += raw_reward
    self._agent_steps += 1

    game_over = terminated | truncated
    life_lost = ((lives < self._lives) & ~game_over & ~restarting
                 if self._episodic_life else np.zeros_like(game_over))
    for i in np.flatnonzero(game_over):
      self._finished.append(EpisodeRecord(
          float(self._raw_return[i]), int(self._agent_steps[i]),
          int(info['episode_frame_number'][i])))
      self._num_finished += 1

    step_type = np.where(game_over | life_lost, ts.StepType.LAST,
                         ts.StepType.MID).astype(np.int32)
    step_type[restarting] = ts.StepType.FIRST
    # Truncation keeps discount 1 so that the learner bootstraps through it.
    discount = np.where(terminated | life_lost, 0.0, 1.0).astype(np.float32)
    discount[restarting] = 1.0
    reward = np.sign(raw_reward) if self._clip_rewards else raw_reward
    reward = np.where(restarting, 0.0, reward).astype(np.float32)

    self._lives = lives.copy()
    self._game_over = game_over
    self._life_lost = life_lost
    return ts.TimeStep(step_type=step_type, reward=reward, discount=discount,
                       observation=self._to_nhwc(obs))

  # --- what learning curves need ---------------------------------------------------

  @property
  def game_id(self) -> str:
    return self._game_id

  @property
  def action_names(self) -> List[str]:
    return list(self._action_names)

  @property
  def num_finished_episodes(self) -> int:
    """Games finished since construction (a counter, never reset)."""
    return self._num_finished

  def finished_episodes(self, last: Optional[int] = None) -> List[EpisodeRecord]:
    """The most recent finished games (all lives, raw scores), oldest first."""
    episodes = list(self._finished)
    return episodes if last is None else episodes[-last:]

  def close(self):
    self._vec_env.close()

  @staticmethod
  def _to_nhwc(obs: np.ndarray) -> np.ndarray:
    """[N, C, H, W] uint8 -> a new contiguous [N, H, W, C] uint8 array.

    One strided copy per channel is 5x faster than a full transpose-copy here.
    """
    n, c, h, w = obs.shape
    nhwc = np.empty((n, h, w, c), obs.dtype)
    for channel in range(c):
      nhwc[..., channel] = obs[:, channel]
    return nhwc
