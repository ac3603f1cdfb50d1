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
  finished game (all lives) is recorded for learning curves;
* with `zero_frame_stack` (the default, as the authors' `VecPyTorchFrameStack`), every
  RL episode starts from a stack whose older frames are zero: at a game reset and, with
  episodic life, at a life loss, the first observation is [0, 0, 0, x] and real frames
  fill the stack from the newest end. Without it the stack carries the frames from
  before the life loss, as baselines' `FrameStack` does;
* with sticky actions (`sticky_action_prob` > 0), ALE's one-frame FIRE reset can be
  swallowed by a repeated NOOP and the game never starts (Breakout: 12 of 40 games at
  p = 0.25): the first step of each game then presses the restart action, as the step
  after a life loss always does;
* with `record_screens`, `screens` holds the full-colour 210x160 screen behind each
  observation (for videos): a second `AtariVectorEnv` that emits RGB screens is
  stepped in lockstep with the same seeds and actions. ALE is deterministic, so both
  play the same game; every step checks that their rewards, lives and frame numbers
  agree and raises if they ever do not;
* with `num_groups` > 1 the envs are split into that many groups, each its own
  `AtariVectorEnv` on threads of its own, env i still seeded `seed + i`: `send(g,
  actions)` starts group g's step and returns at once, `recv(g)` waits for it, so a
  learner acts for one group while the other emulates (`training.rollout`). ALE is
  deterministic per env, so the groups play the games one vector env would.
"""

from typing import List, Tuple

import numpy as np
from ale_py.vector_env import AtariVectorEnv
from tf_agents.trajectories import time_step as ts

from saarl_tf.envs import batched
from saarl_tf.envs.games import ale_game_id

SCREEN_HEIGHT, SCREEN_WIDTH = 210, 160   # Atari's screen, in pixels

# ALE's minimal action sets name FIRE this way; after a life loss it restarts play.
_FIRE_ACTION_NAME = 'FIRE'


EpisodeRecord = batched.EpisodeRecord  # re-exported


class AtariEnvironment(batched.BatchedFrameEnvironment):
  """`num_envs` Atari games stepped together; a batched tf-agents `PyEnvironment`.

  Observation: uint8 `[num_envs, 84, 84, frame_stack]`, newest frame last.
  Action: int32 `[num_envs]`, an index into the game's minimal action set.
  Reward: float32 `[num_envs]`, sign-clipped when `clip_rewards`.
  """

  frames_per_step = 4   # AtariVectorEnv's frame skip

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
               zero_frame_stack: bool = True,
               num_threads: int = 0,
               episode_history: int = 1000,
               record_screens: bool = False,
               num_groups: int = 1):
    """Creates the environment.

    Args:
      game: game name ('MsPacman' or 'ms_pacman'); see `games.ale_game_id`.
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
      zero_frame_stack: whether every RL episode (game or, with episodic life,
        life) starts from a stack whose older frames are zero (module docstring).
      num_threads: emulator threads; 0 lets ale-py choose.
      episode_history: how many finished games `finished_episodes` keeps at most.
      record_screens: whether `screens` holds the colour screens (module docstring;
        it doubles the emulation work).
      num_groups: groups of envs stepped apart (`send`, `recv`); must divide
        `num_envs`.
    """
    if num_envs < 1:   # checked before ALE builds anything
      raise ValueError(f'num_envs must be at least 1, got {num_envs}')
    if num_groups < 1 or num_envs % num_groups:
      raise ValueError(f'num_groups={num_groups}: expected a divisor of num_envs '
                       f'({num_envs}), e.g. 1 or 2')
    if record_screens and num_groups > 1:
      raise ValueError('record_screens steps one group only: use num_groups=1')
    self._game_id = ale_game_id(game)
    self.sticky_action_prob = sticky_action_prob
    self._seed = seed
    self._clip_rewards = clip_rewards
    self._episodic_life = episodic_life
    self._zero_frame_stack = zero_frame_stack
    self._frame_stack = frame_stack
    emulator = dict(num_threads=num_threads,
                    max_num_frames_per_episode=max_episode_frames,
                    repeat_action_probability=sticky_action_prob, noop_max=noop_max,
                    episodic_life=False, reward_clipping=False, use_fire_reset=True)
    size = num_envs // num_groups
    self._bounds = [(g * size, (g + 1) * size) for g in range(num_groups)]
    self._vec_envs = [AtariVectorEnv(self._game_id, size, stack_num=frame_stack,
                                     **emulator) for _ in range(num_groups)]
    self._screen_env = AtariVectorEnv(
        self._game_id, num_envs, stack_num=1, grayscale=False,
        img_height=SCREEN_HEIGHT, img_width=SCREEN_WIDTH,
        **emulator) if record_screens else None
    self._screens = None
    self._sent = [None] * num_groups      # each group's actions in flight
    action_names = [a.name for a in self._vec_envs[0].ale.get_action_set()]
    self._action_names = action_names
    self._life_restart_action = (action_names.index(_FIRE_ACTION_NAME)
                                 if _FIRE_ACTION_NAME in action_names else 0)
    self._sticky_restart = sticky_action_prob > 0 and _FIRE_ACTION_NAME in action_names
    super().__init__(num_envs, len(action_names), frame_stack, episode_history)
    self._has_reset = False

  # --- tf-agents contract -------------------------------------------------------

  def _reset(self):
    seed = self._seed if not self._has_reset else None
    self._has_reset = True
    resets = [vec_env.reset(seed=None if seed is None else seed + start)
              for vec_env, (start, _) in zip(self._vec_envs, self._bounds)]
    obs = np.concatenate([obs for obs, _ in resets])
    if self._screen_env is not None:
      screens, _ = self._screen_env.reset(seed=seed)
      self._screens = screens[:, 0]
    n = self._num_envs
    self._sent = [None] * len(self._bounds)
    self._restarting = np.zeros(n, bool)
    self._lives = np.concatenate([info['lives'] for _, info in resets])
    self._fire_first = np.full(n, self._sticky_restart)   # the game's first step
    self._game_over = np.zeros(n, bool)    # the last step ended the game
    self._life_lost = np.zeros(n, bool)    # the last step lost a life, game goes on
    self._raw_return = np.zeros(n, np.float64)
    self._agent_steps = np.zeros(n, np.int64)
    self._episode_steps = np.zeros(n, np.int64)   # steps since the RL episode began
    return ts.TimeStep(
        step_type=np.full(n, ts.StepType.FIRST, np.int32),
        reward=np.zeros(n, np.float32),
        discount=np.ones(n, np.float32),
        observation=self._stack(obs))

  def _step(self, action):
    action = np.asarray(action, np.int32)
    for group, (start, stop) in enumerate(self._bounds):
      self.send(group, action[start:stop])
    steps = [self.recv(group) for group in range(len(self._bounds))]
    return ts.TimeStep(*(np.concatenate(field) for field in zip(*steps)))

  @property
  def group_bounds(self) -> List[Tuple[int, int]]:
    return list(self._bounds)

  def send(self, group: int, actions: np.ndarray):
    """Starts one step of `group`'s envs (int32 `actions` [group size]); returns
    before the emulator is done."""
    start, stop = self._bounds[group]
    action = np.asarray(actions, np.int32)
    # After a life loss the agent's action is replaced by the restart action, as
    # baselines' reset would do; after a game over ALE resets and ignores it.
    life_lost = self._life_lost[start:stop]
    self._restarting[start:stop] = self._game_over[start:stop] | life_lost
    if life_lost.any():
      action = np.where(life_lost, self._life_restart_action, action)
    fire_first = self._fire_first[start:stop]
    if fire_first.any():
      # Sticky actions can swallow ALE's one-frame FIRE reset (30% of Breakout games
      # never launched a ball at p = 0.25): the first step of each game presses the
      # restart action too, as the step after a life loss does.
      action = np.where(fire_first, self._life_restart_action, action)
    self._sent[group] = action
    self._vec_envs[group].send(action)

  def recv(self, group: int) -> ts.TimeStep:
    """Waits for `group`'s step to end; its `TimeStep`, arrays [group size, ...]."""
    if self._sent[group] is None:
      raise RuntimeError(f'recv({group}) without a send to group {group} first')
    start, stop = self._bounds[group]
    envs = slice(start, stop)
    obs, raw_reward, terminated, truncated, info = self._vec_envs[group].recv()
    if self._screen_env is not None:
      self._step_screens(self._sent[group], raw_reward, terminated | truncated, info)
    self._sent[group] = None
    lives = info['lives']
    restarting = self._restarting[envs]

    # A game over resets the per-game accounting before this step's (reset) reward.
    game_was_over = self._game_over[envs]
    self._raw_return[envs][game_was_over] = 0.0
    self._agent_steps[envs][game_was_over] = 0
    raw_reward = raw_reward.astype(np.float64)
    self._raw_return[envs] += raw_reward
    self._agent_steps[envs] += 1

    game_over = terminated | truncated
    life_lost = ((lives < self._lives[envs]) & ~game_over & ~restarting
                 if self._episodic_life else np.zeros_like(game_over))
    for i in np.flatnonzero(game_over):
      self._record_episode(self._raw_return[start + i], self._agent_steps[start + i],
                           info['episode_frame_number'][i], start + i)

    step_type = np.where(game_over | life_lost, ts.StepType.LAST,
                         ts.StepType.MID).astype(np.int32)
    step_type[restarting] = ts.StepType.FIRST
    # Truncation keeps discount 1 so that the learner bootstraps through it.
    discount = np.where(terminated | life_lost, 0.0, 1.0).astype(np.float32)
    discount[restarting] = 1.0
    reward = np.sign(raw_reward) if self._clip_rewards else raw_reward
    reward = np.where(restarting, 0.0, reward).astype(np.float32)

    self._lives[envs] = lives
    # With sticky actions a game's first step (after the auto-reset step that a
    # game over leads to) presses the restart action.
    self._fire_first[envs] = game_was_over & self._sticky_restart
    self._game_over[envs] = game_over
    self._life_lost[envs] = life_lost
    self._episode_steps[envs] = np.where(restarting, 0, self._episode_steps[envs] + 1)
    return ts.TimeStep(step_type=step_type, reward=reward, discount=discount,
                       observation=self._stack(obs, envs))

  def _step_screens(self, action, raw_reward, game_over, info):
    screens, reward, terminated, truncated, screen_info = self._screen_env.step(action)
    if not (np.array_equal(reward, raw_reward)
            and np.array_equal(terminated | truncated, game_over)
            and np.array_equal(screen_info['lives'], info['lives'])
            and np.array_equal(screen_info['episode_frame_number'],
                               info['episode_frame_number'])):
      raise RuntimeError(f'{self._game_id}: the colour-screen emulator left the '
                         'observed game (rewards, lives or frame numbers differ)')
    self._screens = screens[:, 0]

  @property
  def game_scores(self) -> np.ndarray:
    return self._raw_return.copy()

  @property
  def screens(self) -> np.ndarray:
    """uint8 [num_envs, 210, 160, 3]: the colour screens of the last observation.

    Raises:
      ValueError: the environment was made without `record_screens`.
    """
    if self._screen_env is None:
      raise ValueError('screens needs AtariEnvironment(..., record_screens=True)')
    return self._screens

  def reseed(self, seed: int):
    self._seed = seed
    self._has_reset = False

  # --- what learning curves need ---------------------------------------------------

  @property
  def game_id(self) -> str:
    return self._game_id

  @property
  def action_names(self) -> List[str]:
    return list(self._action_names)

  def close(self):
    for vec_env in self._vec_envs:
      vec_env.close()
    if self._screen_env is not None:
      self._screen_env.close()

  def _stack(self, obs: np.ndarray, envs: slice = slice(None)) -> np.ndarray:
    """ALE's [n, C, H, W] stacks of the envs `envs` -> ours, [n, H, W, C], older
    frames zeroed at starts.

    Frame j of the stack (0 oldest, C - 1 newest) is from before the RL episode began
    when j + steps since its FIRST < C - 1; with `zero_frame_stack` it is zeroed.
    """
    nhwc = self._to_nhwc(obs)
    if self._zero_frame_stack:
      stale = (np.arange(self._frame_stack)[None, :]
               + self._episode_steps[envs, None] < self._frame_stack - 1)   # [n, C]
      # Only the stale [84, 84] planes are written: multiplying the whole batch by
      # the [N, C] flags rewrote all N x 28 KB at every episode start.
      for env, frame in zip(*np.nonzero(stale)):
        nhwc[env, :, :, frame] = 0
    return nhwc

  @staticmethod
  def _to_nhwc(obs: np.ndarray) -> np.ndarray:
    """[N, C, H, W] uint8 -> a new contiguous [N, H, W, C] uint8 array.

    One strided copy per channel is faster here than a full transpose-copy.
    """
    n, c, h, w = obs.shape
    nhwc = np.empty((n, h, w, c), obs.dtype)
    for channel in range(c):
      nhwc[..., channel] = obs[:, channel]
    return nhwc
