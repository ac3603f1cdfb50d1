"""Synthetic moving-sprites environment: tiny, fast, with exact object positions.

Frames are 84x84 grayscale like the Atari pipeline's, stacked 4 deep (NHWC uint8), so
every model runs on it unchanged. A frame shows, over a static textured background:

* a ball (disk) that falls from the top at a constant speed,
* a paddle (bar) at the bottom that the agent moves left or right,
* `num_distractors` sprites of other shapes and sizes that drift and bounce off the
  walls, unaffected by the agent and irrelevant to the reward.

The game is "catch": an episode is one fall of the ball; it ends when the ball reaches
the paddle's row, with reward 1 if the paddle is under it and 0 otherwise. The paddle
moves as fast as the ball falls and the ball never starts further from the paddle than
the paddle can travel, so a perfect policy catches every ball: the optimal return is
exactly `OPTIMAL_RETURN` = 1 per episode. Distractors keep moving across episodes, so a
good policy must attend to the ball and paddle and ignore the rest, which is what the
attention mask is for.

Ground truth: `object_boxes()` gives every object's pixel box in the newest frame, from
which `object_centres()` follows; both are exact because sprites sit on whole pixels.
"""

from typing import Any, Dict, Tuple

import numpy as np
from tf_agents.trajectories import time_step as ts

from saarl_tf.envs import batched
from saarl_tf.envs.batched import FRAME_SIZE

OPTIMAL_RETURN = 1.0
ACTION_NAMES = ('NOOP', 'LEFT', 'RIGHT')

_BALL_SIZE = 7
_PADDLE_HEIGHT, _PADDLE_WIDTH = 5, 15
_PADDLE_TOP = FRAME_SIZE - 2 - _PADDLE_HEIGHT       # paddle rows 77..81
_BALL_START_TOP = 1
_SPEED = 6                                          # pixels per agent step
# Falls until the ball's bottom row touches the paddle's top row: 11 agent steps.
_FALL_STEPS = (_PADDLE_TOP - _BALL_SIZE - _BALL_START_TOP) // _SPEED + 1
_BALL_INTENSITY, _PADDLE_INTENSITY = 255, 210
_BACKGROUND_MAX = 60
_DISTRACTOR_SHAPES = ('square', 'cross', 'diamond', 'ring')
_DISTRACTOR_SIZES = (5, 7, 9, 11)


def _shape_mask(shape: str, size: int) -> np.ndarray:
  """Boolean [size, size] sprite; odd size so the centre pixel is always on."""
  r = np.arange(size) - size // 2
  dy, dx = np.meshgrid(r, r, indexing='ij')
  half = size // 2
  if shape == 'square':
    return np.ones((size, size), bool)
  if shape == 'disk':
    return dy**2 + dx**2 <= half**2 + half
  if shape == 'cross':
    return (np.abs(dy) <= size // 6) | (np.abs(dx) <= size // 6)
  if shape == 'diamond':
    return np.abs(dy) + np.abs(dx) <= half
  if shape == 'ring':
    d2 = dy**2 + dx**2
    return (d2 <= half**2 + half) & ((d2 >= (half - 1.5)**2) | (d2 == 0))
  raise ValueError(f'unknown sprite shape {shape!r}')


class SpritesEnvironment(batched.BatchedFrameEnvironment):
  """`num_envs` catch games with distractors; a batched tf-agents `PyEnvironment`.

  Observation: uint8 `[num_envs, 84, 84, frame_stack]`, newest frame last.
  Action: int32 `[num_envs]` in {0: NOOP, 1: LEFT, 2: RIGHT}.
  Reward: float32 `[num_envs]`, 1 on the step that catches the ball, else 0.
  """

  def __init__(self,
               num_envs: int = 16,
               num_distractors: int = 3,
               seed: int = 0,
               frame_stack: int = 4,
               episode_history: int = 1000):
    super().__init__(num_envs, len(ACTION_NAMES), frame_stack, episode_history)
    if num_distractors < 0:
      raise ValueError(f'num_distractors must be >= 0, got {num_distractors}')
    self._num_distractors = num_distractors
    self._frame_stack = frame_stack
    self._seed = seed
    self._rng = np.random.default_rng(seed)
    self._background = self._make_background(self._rng)
    # Objects: 0 = ball, 1 = paddle, 2.. = distractors; drawn in reverse so the
    # ball and paddle are on top where sprites overlap.
    self._masks = [_shape_mask('disk', _BALL_SIZE),
                   np.ones((_PADDLE_HEIGHT, _PADDLE_WIDTH), bool)]
    self._intensity = [_BALL_INTENSITY, _PADDLE_INTENSITY]
    for i in range(num_distractors):
      shape = _DISTRACTOR_SHAPES[i % len(_DISTRACTOR_SHAPES)]
      size = _DISTRACTOR_SIZES[(i * 3 + 1) % len(_DISTRACTOR_SIZES)]
      self._masks.append(_shape_mask(shape, size))
      self._intensity.append(120 + (37 * i) % 70)
    self._sizes = np.array([m.shape for m in self._masks])   # [objects, 2] (h, w)
    self._frames = None

  def reseed(self, seed: int):
    """Later draws (positions, speeds, balls) from `seed`; the background stays."""
    self._seed = seed
    self._rng = np.random.default_rng(seed)

  # --- tf-agents contract -------------------------------------------------------

  def _reset(self):
    n, k = self._num_envs, self._num_distractors
    # Top-left corners, int [num_envs, objects, 2] (row, col).
    self._pos = np.zeros((n, 2 + k, 2), np.int64)
    self._vel = np.zeros((n, k, 2), np.int64)
    if k:
      high = FRAME_SIZE - self._sizes[2:]                      # [k, 2]
      self._pos[:, 2:] = (self._rng.random((n, k, 2)) * high).astype(np.int64)
      speed = self._rng.integers(1, 4, (n, k, 2))
      self._vel = speed * self._rng.choice([-1, 1], (n, k, 2))
    self._fall_step = np.zeros(n, np.int64)
    self._episode_return = np.zeros(n, np.float64)
    self._new_ball(np.ones(n, bool))
    self._pos[:, 1] = (_PADDLE_TOP, (FRAME_SIZE - _PADDLE_WIDTH) // 2)
    self._restart = np.zeros(n, bool)
    frame = self._render()
    self._frames = np.repeat(frame[..., None], self._frame_stack, axis=-1)
    return ts.TimeStep(
        step_type=np.full(n, ts.StepType.FIRST, np.int32),
        reward=np.zeros(n, np.float32),
        discount=np.ones(n, np.float32),
        observation=self._frames.copy())

  def _step(self, action):
    action = np.asarray(action, np.int64)
    restart = self._restart
    # Distractors drift and bounce whatever happens to the game.
    if self._num_distractors:
      pos = self._pos[:, 2:] + self._vel
      high = FRAME_SIZE - self._sizes[2:]
      bounce = (pos < 0) | (pos > high)
      self._vel = np.where(bounce, -self._vel, self._vel)
      self._pos[:, 2:] = np.clip(pos, 0, high)
    # Paddle moves; the ball falls. Envs whose last step ended start a new ball.
    move = np.select([action == 1, action == 2], [-_SPEED, _SPEED], 0)
    move[restart] = 0
    self._pos[:, 1, 1] = np.clip(self._pos[:, 1, 1] + move, 0,
                                 FRAME_SIZE - _PADDLE_WIDTH)
    self._pos[~restart, 0, 0] += _SPEED
    self._new_ball(restart)
    self._fall_step = np.where(restart, 0, self._fall_step + 1)

    landed = self._fall_step >= _FALL_STEPS
    caught = landed & (np.abs(self._ball_centre_col() - self._paddle_centre_col())
                       <= (_PADDLE_WIDTH + _BALL_SIZE) // 2)
    step_type = np.where(landed, ts.StepType.LAST, ts.StepType.MID).astype(np.int32)
    step_type[restart] = ts.StepType.FIRST
    self._restart = landed
    # One ball is one episode; `_fall_step` agent steps, one frame each.
    self._episode_return = np.where(restart, 0.0, self._episode_return) + caught
    for i in np.flatnonzero(landed):
      self._record_episode(self._episode_return[i], self._fall_step[i],
                           self._fall_step[i], i)

    frame = self._render()
    self._frames = np.concatenate([self._frames[..., 1:], frame[..., None]], axis=-1)
    if restart.any():
      self._frames[restart] = frame[restart][..., None]
    return ts.TimeStep(
        step_type=step_type,
        reward=caught.astype(np.float32),
        discount=np.where(landed, 0.0, 1.0).astype(np.float32),
        observation=self._frames.copy())

  @property
  def game_scores(self) -> np.ndarray:
    return self._episode_return.copy()

  _STATE = ('_pos', '_vel', '_fall_step', '_episode_return', '_restart', '_frames',
            '_background')

  def get_state(self) -> Dict[str, Any]:
    state = {name: getattr(self, name).copy() for name in self._STATE}
    state['rng'] = self._rng.bit_generator.state
    state['seed'] = self._seed
    state['time_step'] = tuple(np.asarray(x) for x in self.current_time_step())
    state.update(self._finished_state())
    return state

  def set_state(self, state: Dict[str, Any]):
    for name in self._STATE:
      setattr(self, name, np.array(state[name]))
    self._seed = state['seed']
    self._rng = np.random.default_rng()
    self._rng.bit_generator.state = state['rng']
    self._set_finished_state(state)
    self._current_time_step = ts.TimeStep(*state['time_step'])

  # --- ground truth -----------------------------------------------------------------

  @property
  def num_objects(self) -> int:
    """Ball, paddle and distractors."""
    return 2 + self._num_distractors

  @property
  def object_kinds(self) -> Tuple[str, ...]:
    """Each object's kind, in the order of `object_boxes`: 'ball', 'paddle', then
    'distractor' for each distractor."""
    return ('ball', 'paddle') + ('distractor',) * self._num_distractors

  @property
  def background(self) -> np.ndarray:
    """The static background, uint8 [num_envs, 84, 84]."""
    return self._background

  def object_boxes(self) -> np.ndarray:
    """Pixel boxes of every object in the newest frame.

    Returns:
      int64 [num_envs, num_objects, 4]: (top, left, bottom, right), bottom and right
      exclusive. Object 0 is the ball, 1 the paddle, the rest distractors.
    """
    return np.concatenate([self._pos, self._pos + self._sizes[None]], axis=-1)

  def object_centres(self) -> np.ndarray:
    """Centres of every object in the newest frame.

    Returns:
      float32 [num_envs, num_objects, 2]: (row, col) in pixels of the 84x84 frame.
    """
    return (self._pos + (self._sizes[None] - 1) / 2).astype(np.float32)

  def object_masks(self) -> np.ndarray:
    """bool [num_envs, num_objects, 84, 84]: each object's own pixels."""
    out = np.zeros((self._num_envs, self.num_objects, FRAME_SIZE, FRAME_SIZE), bool)
    for i in range(self._num_envs):
      for j, mask in enumerate(self._masks):
        (r, c), (h, w) = self._pos[i, j], mask.shape
        out[i, j, r:r + h, c:c + w] = mask
    return out

  # --- internals ----------------------------------------------------------------------

  def _new_ball(self, which: np.ndarray):
    count = int(which.sum())
    if not count:
      return
    # The paddle can travel _SPEED * _FALL_STEPS pixels during a fall, more than the
    # frame is wide, so every ball is catchable.
    self._pos[which, 0, 0] = _BALL_START_TOP
    self._pos[which, 0, 1] = self._rng.integers(0, FRAME_SIZE - _BALL_SIZE + 1, count)

  def _ball_centre_col(self):
    return self._pos[:, 0, 1] + _BALL_SIZE // 2

  def _paddle_centre_col(self):
    return self._pos[:, 1, 1] + _PADDLE_WIDTH // 2

  def _render(self) -> np.ndarray:
    """uint8 [num_envs, 84, 84]: the background with every sprite drawn on it."""
    frame = self._background.copy()
    for i in range(self._num_envs):
      for j in reversed(range(self.num_objects)):
        mask = self._masks[j]
        (r, c), (h, w) = self._pos[i, j], mask.shape
        frame[i, r:r + h, c:c + w][mask] = self._intensity[j]
    return frame

  def _make_background(self, rng) -> np.ndarray:
    """A static texture per env: smooth stripes plus fixed noise, in [0, 60]."""
    rows, cols = np.mgrid[0:FRAME_SIZE, 0:FRAME_SIZE]
    stripes = 0.5 + 0.5 * np.sin(rows / 5.0 + 0.7 * np.sin(cols / 9.0))
    noise = rng.random((self._num_envs, FRAME_SIZE, FRAME_SIZE))
    texture = 0.6 * stripes[None] + 0.4 * noise
    return (texture * _BACKGROUND_MAX).astype(np.uint8)


def random_policy_return(num_envs: int = 64, episodes: int = 4,
                         seed: int = 0) -> Tuple[float, float]:
  """Mean and std of the per-episode return of a uniformly random policy."""
  env = SpritesEnvironment(num_envs=num_envs, seed=seed)
  rng = np.random.default_rng(seed)
  env.reset()
  returns = np.zeros(num_envs)
  finished = []
  while len(finished) < episodes * num_envs:
    step = env.step(rng.integers(0, len(ACTION_NAMES), num_envs).astype(np.int32))
    returns += step.reward
    for i in np.flatnonzero(step.step_type == ts.StepType.LAST):
      finished.append(returns[i])
      returns[i] = 0.0
  return float(np.mean(finished)), float(np.std(finished))
