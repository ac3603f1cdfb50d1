"""Watching an agent: complete games, raw scores, one video frame per agent step."""

import csv
import os
import shutil

import imageio.v3 as iio
import numpy as np
import pytest
import tensorflow as tf
from tf_agents.trajectories import time_step as ts

from a2c_helpers import config as _config
from saarl_tf import config as config_lib
from saarl_tf import run_layout
from saarl_tf.envs import atari
from saarl_tf.experiments import play
from saarl_tf.models import geometry
from saarl_tf.training import a2c_training

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _trained_run(root: str, **overrides) -> str:
  """A few updates of a real MsPacman run, checkpointed at its end."""
  settings = dict(game='MsPacman', variant='joint', num_envs=2, total_frames=400,
                  mask_start_update=2, precision='float32')
  settings.update(overrides)
  run = a2c_training.A2CRun(_config(**settings), root)
  run.run()
  run.close()
  return root


def _recording(player: play.Player, actions: list) -> play.Player:
  def act(time_step):
    action, mask = player.act(time_step)
    actions.append(np.asarray(action).copy())
    return action, mask
  return player._replace(act=act)


def _assert_top_actions(records, actions):
  """Each game's record names its most frequent action and that action's share of
  the game's steps, as counted from the actions the player chose."""
  start = 0
  for record in records:
    counts = np.bincount(np.concatenate(actions[start:start + record.agent_steps]))
    assert counts[record.top_action] == counts.max()
    assert record.top_action_share == counts.max() / record.agent_steps
    start += record.agent_steps
  assert start == len(actions)


@pytest.mark.slow
def test_play_plays_complete_games_with_raw_scores_and_one_video_frame_per_step(
    tmp_path):
  """A joint run's policy plays two whole MsPacman games (all 3 lives); each score is
  the sum of the emulator's raw rewards (replayed on an env that does not clip),
  each record names the game's most frequent action and its share of the steps, and
  the MP4, read back with imageio, has one frame per agent step played."""
  run_dir = _trained_run(str(tmp_path / 'run'))
  actions = []
  player = _recording(play.run_player(run_dir, 'sample'), actions)
  assert player.label == ('MsPacman joint seed 0, update 10, sample')
  video = str(tmp_path / 'videos' / 'play.mp4')
  records = play.play(player, num_games=2, seed=7, video=video)

  assert [record.game for record in records] == [0, 1]
  steps = [record.agent_steps for record in records]
  assert len(actions) == sum(steps)
  frames = iio.imread(video)
  assert frames.shape[0] == sum(steps)
  assert frames.shape[1] % 16 == 0 and frames.shape[2] % 16 == 0
  # The screen is 3x 210x160 and the mask's colour scale stands to its right.
  assert frames.shape[1] >= 630 and frames.shape[2] > 480

  _assert_top_actions(records, actions)
  start = 0
  for game, record in enumerate(records):
    reference = atari.AtariEnvironment('MsPacman', num_envs=1, seed=7 + game,
                                       clip_rewards=False)
    time_step = reference.reset()
    total, lasts = 0.0, 0
    for action in actions[start:start + record.agent_steps]:
      time_step = reference.step(action)
      total += float(time_step.reward[0])
      lasts += int(time_step.step_type[0] == ts.StepType.LAST)
    assert reference.num_finished_episodes == 1      # the game ended there, not before
    assert total == record.raw_return
    assert lasts == 3                                  # all of MsPacman's lives
    reference.close()
    start += record.agent_steps


@pytest.mark.slow
def test_a_mask_export_is_shown_over_random_play_where_the_mask_is(tmp_path):
  """Random Assault play with the shipped universal mask: frames where the mask is
  high are brighter (the heat map's yellow) than where it is low, cell by cell."""
  masks = []
  player = play.mask_player(os.path.join(REPO, 'export', 'universal_mask'),
                            'Assault', seed=3)

  def act(time_step):
    action, mask = player.act(time_step)
    masks.append(mask[0])
    return action, mask
  video = str(tmp_path / 'random.mp4')
  records = play.play(player._replace(act=act), num_games=1, seed=3, video=video,
                      scale=1)
  frames = iio.imread(video)
  assert frames.shape[0] == records[0].agent_steps == len(masks)
  # Brightness of the overlay's cells against the mask's values, on a late frame.
  frame, mask = frames[-1].astype(np.float32), masks[-1]
  rows = geometry.upsample_masks(mask[None], 210, 160)[0]
  high, low = rows >= np.quantile(mask, 0.8), rows <= np.quantile(mask, 0.2)
  brightness = frame[:210, :160].mean(axis=-1)
  assert brightness[high].mean() > brightness[low].mean() + 40


def test_screens_stay_in_lockstep_with_the_observed_game():
  """The colour screen behind each observation, resized to 84x84 grayscale as ALE
  does, is the observation's newest frame, over a game with resets and life losses."""
  import cv2  # pylint: disable=g-import-not-at-top
  env = atari.AtariEnvironment('Breakout', num_envs=2, seed=1, record_screens=True)
  time_step = env.reset()
  rng = np.random.default_rng(0)
  errors = []
  for _ in range(400):
    for screen, observation in zip(env.screens, time_step.observation):
      gray = cv2.resize(cv2.cvtColor(screen, cv2.COLOR_RGB2GRAY), (84, 84),
                        interpolation=cv2.INTER_AREA)
      errors.append(np.abs(gray.astype(int) - observation[..., -1]).mean())
    time_step = env.step(rng.integers(0, 4, size=2).astype(np.int32))
  assert env.screens.shape == (2, 210, 160, 3)
  assert env.num_finished_episodes >= 0 and max(errors) < 0.5
  env.close()
  with pytest.raises(ValueError, match='record_screens=True'):
    atari.AtariEnvironment('Breakout', num_envs=1).screens  # pylint: disable=expression-not-assigned


def test_a_mask_cell_covers_its_receptive_field_on_the_full_screen():
  """On the 210x160 screen, cell (3, 3) lights the band around its receptive field's
  centre (84-pixel 41.5 -> screen row 104.25, column 79.5), 20 rows by 15-16 columns
  (8 of 84 pixels between cells)."""
  mask = np.zeros((1, 7, 7), np.float32)
  mask[0, 3, 3] = 1
  lit = geometry.upsample_masks(mask, 210, 160)[0] > 0
  rows, cols = np.flatnonzero(lit.any(axis=1)), np.flatnonzero(lit.any(axis=0))
  assert rows.min() <= 104 <= rows.max() and cols.min() <= 79 <= cols.max()
  assert len(rows) == 20 and len(cols) in (15, 16)
  assert lit.sum() == len(rows) * len(cols)


def test_a_video_path_we_cannot_encode_is_refused_in_one_line():
  with pytest.raises(ValueError, match=r'--video=out\.avi: expected a file ending in '
                     r'\.mp4 or \.gif'):
    config_lib.check_video_path('out.avi')


def test_a_baseline_run_plays_sprites_into_a_gif_with_one_frame_per_step(tmp_path):
  """Without a mask there is no colour scale; a GIF (Pillow) has one frame per step,
  the strip holds the first game's frames every `every` steps, and each game's
  record counts its most frequent action."""
  run_dir = _trained_run(str(tmp_path / 'run'), game='Sprites', variant='baseline')
  player = play.run_player(run_dir, 'greedy')
  assert player.label == 'Sprites baseline seed 0, update 40, greedy'  # 1 frame per step
  video = str(tmp_path / 'sprites.gif')
  strip = play.Strip(str(tmp_path / 'docs' / 'strip.png'), every=2, count=3)
  actions = []
  records = play.play(_recording(player, actions), num_games=3, seed=0, video=video,
                      scale=2, strip=strip)
  _assert_top_actions(records, actions)
  frames = iio.imread(video)
  assert frames.shape[0] == sum(record.agent_steps for record in records)
  # The strip: the first game's frames at steps 0, 2 and 4, side by side.
  still = iio.imread(strip.path)
  np.testing.assert_array_equal(
      still, np.concatenate([frames[0], frames[2], frames[4]], axis=1)[..., :3])
  assert all(record.raw_return in (0.0, 1.0) for record in records)   # caught or not
  # Kept for the record: the same records, read back from their CSV.
  play.write_records(records, str(tmp_path / 'games.csv'))
  with open(tmp_path / 'games.csv') as f:
    rows = list(csv.DictReader(f))
  assert [play.GameRecord(int(r['game']), float(r['raw_return']), int(r['agent_steps']),
                          int(r['top_action']), float(r['top_action_share']))
          for r in rows] == records
  assert frames.shape[2] == 176                 # 2 x 84 wide, padded to 16, no scale


def test_a_run_plays_from_a_checkpoint_whose_optimizer_slots_differ(tmp_path):
  """Acting needs the network only: a run whose checkpoint holds other optimizer
  slots than today's optimizer makes (here none, as from an earlier optimizer)
  still plays, with the run's weights and update."""
  run_dir = _trained_run(str(tmp_path / 'run'), game='Sprites', variant='baseline')
  trained = a2c_training.restore_trained_network(run_dir)
  weights = [variable.numpy() for variable in trained.network.variables]
  step = tf.Variable(trained.update, dtype=tf.int64)
  agent = a2c_training.build_agent(trained.config, trained.time_step_spec,
                                   trained.action_spec, trained.network, step)
  checkpoints = run_layout.checkpoints_dir(run_dir)
  shutil.rmtree(checkpoints)
  tf.train.CheckpointManager(
      tf.train.Checkpoint(agent=agent.network_checkpoint(), global_step=step),
      checkpoints, max_to_keep=1).save(checkpoint_number=trained.update)

  restored = a2c_training.restore_trained_network(run_dir)
  assert restored.update == trained.update == 40
  for expected, variable in zip(weights, restored.network.variables, strict=True):
    np.testing.assert_array_equal(variable.numpy(), expected)
  assert play.run_player(run_dir, 'greedy').label.endswith('update 40, greedy')
