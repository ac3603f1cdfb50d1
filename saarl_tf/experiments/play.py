"""Watch an agent with its attention: complete games on video, the mask laid over them.

`play` plays `games` complete games (all lives), one after another on one env, with
a trained run's policy (its latest checkpoint) or, with only a mask export, a
uniformly random policy. Each video frame is the full-colour screen the agent saw
when it chose its action (so a game of T agent steps gives T frames), 3x, with the
mask (joint and frozen runs, or the export) as a heat map in its exact cell geometry,
a colour scale, and a label with the game, the game's number, the step and the score
so far.

Game g is played from env seed `seed + g`; `seed` also seeds sampled actions. Scores
are raw (unclipped) game scores, the sum of the emulator's rewards over all lives; the
environment's episodic life (a life loss ends the agent's episode) is the run's own,
as in training. Each game's record also says how often its most frequent action was
chosen: a greedy policy that repeats one action (Carnival and Asteroids at 4M frames,
`results/README.md`) plays the same few games whatever the evaluation mode.

tf-agents' `PyDriver` stops at episode ends, which with episodic life are life
losses; a game here ends only with the game over, so the loop is written out.
"""

import collections
import os
from typing import Callable, List, NamedTuple, Optional, Sequence

from absl import logging
import numpy as np
import tensorflow as tf
from tf_agents.policies import greedy_policy
from tf_agents.policies import py_tf_eager_policy
from tf_agents.policies import random_py_policy
from tf_agents.trajectories import time_step as ts

from saarl_tf import config as config_lib
from saarl_tf import envs
from saarl_tf import plots
from saarl_tf import storage
from saarl_tf.agents import a2c
from saarl_tf.training import a2c_training
from saarl_tf.training import stopping

# Output sizes a multiple of this: H.264 encoders need even sizes, and imageio's
# ffmpeg writer would otherwise resize to multiples of 16 with a warning.
_MACRO_BLOCK = 16


class GameRecord(NamedTuple):
  """One game played: its raw score (all lives), agent steps (= video frames), and its
  most frequent action with the share of the agent steps it was chosen in."""
  game: int
  raw_return: float
  agent_steps: int
  top_action: int
  top_action_share: float


def write_records(records: Sequence[GameRecord], path: str):
  """`records` as a CSV, one row per game (`GameRecord`'s fields)."""
  storage.write_csv(path, GameRecord._fields, [record._asdict() for record in records])


class Player(NamedTuple):
  """What acts and what it attends to.

  act: observation batch uint8 [1, 84, 84, C] (as a tf-agents TimeStep) -> action
    int32 [1] and mask float32 [1, 7, 7] or None.
  """
  game: str
  label: str                      # e.g. 'MsPacman joint seed 0, update 12,500'
  env_options: dict
  act: Callable[[ts.TimeStep], tuple]


def run_player(run_dir: str, policy: str) -> Player:
  """The policy (and mask) of a trained A2C run, from its latest checkpoint."""
  trained = a2c_training.restore_trained_network(run_dir)
  config, network = trained.config, trained.network
  has_mask = network.attention_module is not None
  tf_policy = a2c.ActorCriticPolicy(trained.time_step_spec, trained.action_spec,
                                    network)
  if policy == 'greedy':
    tf_policy = greedy_policy.GreedyPolicy(tf_policy)
  eager = py_tf_eager_policy.PyTFEagerPolicy(tf_policy, use_tf_function=True,
                                             batch_time_steps=False)

  def act(time_step):
    step = eager.action(time_step)
    return step.action, (step.info[a2c.MASK_INFO] if has_mask else None)

  mode = '' if config.mask_mode == config_lib.MULTIPLY or not has_mask else (
      f' ({config.mask_mode} mask)')
  label = (f'{config.game} {config.variant}{mode} seed {config.seed}, '
           f'update {trained.update:,}, {policy}')
  return Player(config.game, label, a2c_training.env_options(config), act)


def mask_player(mask_dir: str, game: str, seed: int) -> Player:
  """Uniformly random play of `game`, with the mask export's mask."""
  module = tf.saved_model.load(mask_dir)
  probe = envs.make_environment(game, num_envs=1, seed=0)
  random_policy = random_py_policy.RandomPyPolicy(
      probe.time_step_spec(), probe.action_spec(), outer_dims=(1,), seed=seed)
  probe.close()

  def act(time_step):
    mask = module(tf.constant(time_step.observation)).numpy()
    return random_policy.action(time_step).action, mask

  label = f'{game}, random play, mask {os.path.basename(mask_dir.rstrip("/"))}'
  return Player(game, label, {}, act)


def _picture(env, observation: np.ndarray) -> np.ndarray:
  """float32 [1, H, W, 3 or 1] in [0, 1]: the colour screen, or a sprites frame."""
  if hasattr(env, 'screens'):
    return env.screens.astype(np.float32) / 255
  return observation[..., -1:].astype(np.float32) / 255


class Strip(NamedTuple):
  """A PNG of the first game's frames at steps 0, every, 2 every, ... (count of them)."""
  path: str
  every: int = 30
  count: int = 6


def play(player: Player, num_games: int, seed: int, video: Optional[str] = None,
         fps: int = 15, scale: int = 3, strip: Optional[Strip] = None
         ) -> List[GameRecord]:
  """Plays `num_games` complete games; writes the video and the strip if asked.

  `video` is a local file (ffmpeg or Pillow writes it); `strip` may be anywhere
  `storage` reaches.

  Returns:
    One record per game, in order.
  """
  import imageio.v2 as imageio  # pylint: disable=g-import-not-at-top
  if video:
    config_lib.check_video_path(video)
    # ffmpeg streams to a file of this machine; the strip goes through `storage`.
    os.makedirs(os.path.dirname(os.path.abspath(video)), exist_ok=True)
  tf.keras.utils.set_random_seed(seed)      # sampled actions repeat with the seed
  is_atari = player.game.lower() != envs.SPRITES.lower()
  env = envs.make_environment(player.game, num_envs=1, seed=seed,
                              **(dict(player.env_options, record_screens=True)
                                 if is_atari else {}))
  writer = None
  if video:
    options = (dict(fps=fps, macro_block_size=_MACRO_BLOCK, codec='libx264',
                    quality=7) if video.lower().endswith('.mp4')
               else dict(duration=1000 / fps, loop=0))
    writer = imageio.get_writer(video, **options)
  records, stills = [], []
  try:
    for game in range(num_games):
      env.reseed(seed + game)
      time_step = env.reset()
      finished, steps, score = env.num_finished_episodes, 0, 0.0
      actions = collections.Counter()
      while env.num_finished_episodes == finished:
        stopping.check()
        action, mask = player.act(time_step)
        actions[int(np.asarray(action).reshape(-1)[0])] += 1
        still = (strip is not None and game == 0 and steps % strip.every == 0
                 and len(stills) < strip.count)
        if writer is not None or still:
          frame = _frame(env, time_step.observation, mask, scale,
                         f'{player.label} | game {game + 1}/{num_games}'
                         f' | step {steps} | score {score:g}')
          if writer is not None:
            writer.append_data(frame)
          if still:
            stills.append(frame)
        time_step = env.step(action)
        steps += 1
        score = float(env.game_scores[0])
      record = env.finished_episodes(last=1)[0]
      top_action, count = actions.most_common(1)[0]
      records.append(GameRecord(game, record.raw_return, record.agent_steps,
                                top_action, count / steps))
      logging.info('Game %d: score %g in %d agent steps', game + 1, record.raw_return,
                   record.agent_steps)
  finally:
    if writer is not None:
      writer.close()
    env.close()
  if strip is not None:
    storage.write_atomically(strip.path, imageio.imwrite(
        '<bytes>', np.concatenate(stills, axis=1), format='png'))
  return records


def _frame(env, observation, mask, scale: int, label: str) -> np.ndarray:
  """uint8 [H', W', 3]: one video frame (picture, mask, colour scale, label)."""
  picture = _picture(env, observation)
  if mask is not None:
    picture = plots.mask_overlay(picture, mask, scale=scale)
  else:
    picture = np.broadcast_to(picture, picture.shape[:3] + (3,))
    picture = picture.repeat(scale, axis=1).repeat(scale, axis=2)
  return plots.labelled_pictures(picture, [label], colour_scale=mask is not None,
                                 multiple_of=_MACRO_BLOCK)[0]
