"""Frames with ground-truth objects: exact on sprites, OCAtari's on Atari.

`labelled_frames(game, ...)` is the one source of labelled frames for mask quality,
export scores and keypoints. Sprites draws its objects itself, so its boxes, centres
and pixels are exact. On Atari, OCAtari (the `eval` extra) reads object positions from
the console's RAM. It steps its own gymnasium ALE environment one frame at a time;
this module applies the same preprocessing as `AtariVectorEnv` (max over the last two
of 4 skipped frames, grayscale, area resize to 84x84, 4-frame stack) and maps
OCAtari's boxes from the 160x210 screen to 84x84 pixels, so masks computed on these
observations can be scored against the boxes.
"""

from typing import List, NamedTuple, Tuple
import warnings

import numpy as np

from saarl_tf.envs import games
from saarl_tf.envs import sprites

_SCREEN_HEIGHT, _SCREEN_WIDTH = 210, 160
_FRAME_SIZE = 84
# Scenery that OCAtari lists as objects but that never moves: the attention mask is
# meant to ignore it, so it is not ground truth here. 'NoObject*' are empty slots.
STATIC_CATEGORIES = frozenset({'Pill', 'PowerPill', 'Block', 'Shield', 'OxygenBar'})


class LabelledFrames(NamedTuple):
  """F observations with their moving objects (K = the most in any frame).

  observations: uint8 [F, 84, 84, 4], newest frame last.
  centres: float32 [F, K, 2] (row, col) in 84x84 pixels; NaN rows pad.
  boxes: float32 [F, K, 4] (top, left, bottom, right) in 84x84 pixels; NaN rows pad.
  object_pixels: bool [F, 84, 84], the union of the boxes.
  categories: str [F, K], each object's kind (OCAtari's category, e.g. 'Player';
    sprites' 'ball', 'paddle', 'distractor'); '' pads.
  """
  observations: np.ndarray
  centres: np.ndarray
  boxes: np.ndarray
  object_pixels: np.ndarray
  categories: np.ndarray


def _to_gray84(rgb_frames) -> np.ndarray:
  import cv2  # pylint: disable=g-import-not-at-top
  frame = np.maximum(rgb_frames[-1], rgb_frames[-2]) if len(rgb_frames) > 1 else (
      rgb_frames[-1])
  gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
  return cv2.resize(gray, (_FRAME_SIZE, _FRAME_SIZE), interpolation=cv2.INTER_AREA)


def _ocatari_env(game: str):
  """OCAtari's RAM-extracting env of `game`, original screens, no frame skip.

  Raises:
    ImportError: OCAtari is not installed.
    ValueError: OCAtari has no RAM extraction for this game.
  """
  try:
    from ocatari.core import OCAtari  # pylint: disable=g-import-not-at-top
  except ImportError as error:
    raise ImportError('Atari ground truth needs OCAtari: pip install -e ".[eval]"'
                      ) from error
  stem = ''.join(part.capitalize() for part in games.ale_game_id(game).split('_'))
  try:
    with warnings.catch_warnings():
      # OCAtari asks gymnasium for the unversioned id; the versioned one it gets is
      # the same game, so the warning says nothing to our users.
      warnings.filterwarnings('ignore', message='.*latest versioned environment')
      return OCAtari(stem, mode='ram', hud=False, obs_mode='ori', render_mode=None,
                     frameskip=1, repeat_action_probability=0.0)
  except Exception as error:  # OCAtari raises several types for unsupported games.
    raise ValueError(f'OCAtari has no object extraction for {game!r}: {error}'
                     ) from error


def _moving_objects(objects) -> Tuple[np.ndarray, List[str]]:
  """(float32 [K, 4] boxes (top, left, bottom, right) on the 84x84 frame, their K
  categories) of the visible, non-static OCAtari objects."""
  boxes, categories = [], []
  for obj in objects:
    if (not getattr(obj, 'visible', True) or obj.category in STATIC_CATEGORIES
        or obj.category.startswith('NoObject')):
      continue
    x, y, w, h = obj.xywh
    if w <= 0 or h <= 0:
      continue
    boxes.append((y * _FRAME_SIZE / _SCREEN_HEIGHT, x * _FRAME_SIZE / _SCREEN_WIDTH,
                  (y + h) * _FRAME_SIZE / _SCREEN_HEIGHT,
                  (x + w) * _FRAME_SIZE / _SCREEN_WIDTH))
    categories.append(obj.category)
  return np.array(boxes, np.float32).reshape(-1, 4), categories


def collect_labelled_frames(game: str, num_frames: int, seed: int = 0,
                            warmup_steps: int = 60, frame_skip: int = 4,
                            every: int = 4) -> LabelledFrames:
  """Plays `game` with a random policy and keeps every `every`-th agent step.

  Args:
    game: game name as the paper writes it ('MsPacman').
    num_frames: F, observations to return.
    seed: seeds the emulator and the random policy.
    warmup_steps: agent steps played before the first kept one (skips the start
      screen, when few objects move).
    frame_skip: emulator frames per agent step.
    every: keep one agent step in this many, so the frames are less alike.

  Raises:
    ImportError: OCAtari is not installed (`pip install -e .[eval]`).
    ValueError: OCAtari has no RAM extraction for this game.
  """
  env = _ocatari_env(game)
  rng = np.random.default_rng(seed)
  num_actions = env.action_space.n
  screen, _ = env.reset(seed=seed)
  stack = [_to_gray84([screen])] * 4
  observations, all_boxes, all_categories = [], [], []
  step = 0
  while len(observations) < num_frames:
    action = int(rng.integers(num_actions))
    screens, done = [], False
    for _ in range(frame_skip):
      screen, _, truncated, terminated, _ = env.step(action)
      screens.append(screen)
      if terminated or truncated:
        done = True
        break
    if done:
      screen, _ = env.reset()
      stack = [_to_gray84([screen])] * 4
      continue
    stack = stack[1:] + [_to_gray84(screens)]
    step += 1
    if step <= warmup_steps or step % every:
      continue
    observations.append(np.stack(stack, axis=-1))
    frame_boxes, frame_categories = _moving_objects(env.objects)
    all_boxes.append(frame_boxes)
    all_categories.append(frame_categories)
  env.close()

  most = max(1, max(len(b) for b in all_boxes))
  boxes = np.full((num_frames, most, 4), np.nan, np.float32)
  pixels = np.zeros((num_frames, _FRAME_SIZE, _FRAME_SIZE), bool)
  categories = np.full((num_frames, most), '', object)
  for i, (frame_boxes, frame_categories) in enumerate(zip(all_boxes, all_categories)):
    boxes[i, :len(frame_boxes)] = frame_boxes
    categories[i, :len(frame_categories)] = frame_categories
    for top, left, bottom, right in frame_boxes:
      pixels[i, int(top):int(np.ceil(bottom)), int(left):int(np.ceil(right))] = True
  centres = np.stack([(boxes[..., 0] + boxes[..., 2]) / 2,
                      (boxes[..., 1] + boxes[..., 3]) / 2], axis=-1)
  return LabelledFrames(np.stack(observations), centres, boxes, pixels,
                        categories.astype(str))


def sprites_labelled_frames(num_frames: int, seed: int, num_envs: int = 16
                            ) -> LabelledFrames:
  """Random-policy sprites observations with their exact objects."""
  env = sprites.SpritesEnvironment(num_envs=num_envs, seed=seed + 1000)
  rng = np.random.default_rng(seed)
  env.reset()
  kinds = np.array(env.object_kinds)
  observations, centres, boxes, pixels = [], [], [], []
  while len(observations) * num_envs < num_frames:
    step = env.step(rng.integers(0, 3, num_envs).astype(np.int32))
    observations.append(step.observation)
    centres.append(env.object_centres())
    boxes.append(env.object_boxes().astype(np.float32))
    pixels.append(env.object_masks().any(axis=1))
  parts = [np.concatenate(part)[:num_frames]
           for part in (observations, centres, boxes, pixels)]
  return LabelledFrames(*parts, np.broadcast_to(kinds, parts[1].shape[:2]))


def labelled_frames(game: str, num_frames: int, seed: int) -> LabelledFrames:
  """Random-policy observations of `game` with their objects' centres, boxes, pixels.

  Raises:
    ImportError: an Atari game without OCAtari installed (the `eval` extra).
    ValueError: OCAtari has no object extraction for the game.
  """
  if game.lower() == games.SPRITES.lower():
    return sprites_labelled_frames(num_frames, seed)
  return collect_labelled_frames(game, num_frames, seed=seed)
