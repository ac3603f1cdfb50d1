"""The launcher: bad flag values stop it at once, with one line that names them."""

import json
import os
import signal
import subprocess
import sys

import pytest


def _launch(*args):
  return subprocess.run([sys.executable, '-m', 'saarl_tf.launch', *args],
                        capture_output=True, text=True, timeout=300, check=False)


BAD_FLAGS = [
    (('--games=Asteroids,MsPacmn',), "'MsPacmn': did you mean ms_pacman"),
    (('--experiment=fly',), 'value should be one of <pretrain_mask|a2c|export|'),
    (('--experiment=export', '--checkpoint={tmp}'),
     '--experiment=export needs --checkpoint=<pretrain_mask run>/checkpoints holding a '
     'checkpoint, or a mask export; got --checkpoint={tmp}'),
    (('--experiment=mask_quality', '--checkpoint={tmp}', '--games=Sprites',
      '--output={tmp}/quality'),
     '--experiment=mask_quality needs --checkpoint=<pretrain_mask run>/checkpoints'),
    (('--experiment=mask_quality', '--checkpoint=export/universal_mask',
      '--games=Sprites'),
     '--experiment=mask_quality needs --games=<games with ground truth, e.g. '
     'Carnival,Asteroids> and --output=<directory>; got --games=Sprites --output=None'),
    (('--mask_train_steps=-5',), '--mask_train_steps=-5: -5 is not a non-negative'),
    (('--num_envs=0',), '--num_envs=0: 0 is not a positive integer'),
    (('--experiment=a2c', '--games=Pong,Breakout'),
     '--experiment=a2c trains on one game; got --games=Pong,Breakout'),
    (('--experiment=transfer', '--seeds=0,x'),
     '--seeds must be a comma-separated list of integers, got 0,x'),
    (('--experiment=a2c', '--games=Pong', '--total_frames=-1'),
     '--total_frames=-1: -1 is not a positive integer'),
    (('--experiment=a2c', '--games=Pong', '--variant=attentive'),
     'value should be one of <baseline|joint|frozen>'),
    (('--experiment=a2c', '--games=Pong', '--variant=frozen'),
     '--variant=frozen needs --mask_checkpoint'),
    (('--experiment=a2c', '--games=Pong', '--variant=frozen',
      '--mask_checkpoint={tmp}/nowhere'),
     '--mask_checkpoint={tmp}/nowhere holds neither a mask export nor a checkpoint'),
    (('--experiment=a2c', '--games=Pong', '--mask_init_checkpoint={tmp}/nowhere'),
     '--mask_init_checkpoint={tmp}/nowhere holds no checkpoint'),
    (('--experiment=a2c', '--games=Pong', '--gamma=1.5'),
     '--gamma=1.5: 1.5 is not a number in the range [0, 1]'),
    (('--experiment=a2c', '--games=Pong', '--learning_rate=0'),
     '--learning_rate must be > 0'),
    (('--experiment=a2c', '--games=Pong', '--env_groups=3'),
     '--env_groups=3: must divide --num_envs=16; use --env_groups=1'),
    (('--experiment=a2c', '--games=Pong', '--precision=fp16'),
     'value should be one of <float32|mixed_bfloat16|auto>'),
    (('--experiment=a2c', '--games=Pong', '--mask_update=joint'),
     'value should be one of <separate|summed>'),
    (('--experiment=a2c', '--games=Pong', '--eval_policy=best'),
     'value should be one of <greedy|sample>'),
    (('--experiment=play',),
     '--experiment=play needs one of --run=<A2C run directory> or --mask=<mask '
     'export>; got --run=None --mask=None'),
    (('--experiment=play', '--run={tmp}'),
     '--run={tmp} is not an A2C run directory (it holds no config.json)'),
    (('--experiment=play', '--mask={tmp}', '--games=Pong'),
     '--mask={tmp} is not a mask export (no saved_model.pb)'),
    (('--experiment=play', '--mask=export/universal_mask', '--games=Pong,Breakout'),
     '--mask plays one game; got --games=Pong,Breakout'),
    (('--experiment=play', '--mask=export/universal_mask', '--games=Pong',
      '--video=out.avi'),
     '--video=out.avi: expected a file ending in .mp4 or .gif'),
]


@pytest.mark.parametrize('args, expected', BAD_FLAGS,
                         ids=[' '.join(args) for args, _ in BAD_FLAGS])
def test_launcher_rejects_a_bad_flag_before_any_work(tmp_path, args, expected):
  args = [arg.format(tmp=tmp_path) for arg in args]
  result = _launch(*args, f'--root_dir={tmp_path}/run')
  assert result.returncode != 0
  # absl adds a second line pointing at --helpshort; the error is the first.
  first_line = result.stderr.strip().splitlines()[0]
  assert expected.format(tmp=tmp_path) in first_line, result.stderr
  assert not os.path.exists(f'{tmp_path}/run')
  assert 'tensorflow' not in result.stderr.lower()     # it answered before TF loaded


def test_mask_quality_scores_a_mask_per_game_and_per_kind_of_object(tmp_path):
  result = _launch('--experiment=mask_quality', '--checkpoint=export/universal_mask',
                   '--games=Sprites', '--eval_frames=32', f'--output={tmp_path}')
  assert result.returncode == 0, result.stderr
  written = json.loads((tmp_path / 'mask_quality.json').read_text())['Sprites']
  kinds = written['by_category']
  assert sorted(kinds) == ['ball', 'distractor', 'paddle']
  assert kinds['ball']['num_objects'] == kinds['paddle']['num_objects'] == 32
  assert sum(k['num_objects'] for k in kinds.values()) == written['num_objects']
  for kind, numbers in kinds.items():
    assert (f'  {kind}: recall {numbers["object_recall"]:.3f}, mask at its cells '
            f'{numbers["mask_at_objects"]:.3f}') in result.stdout
  assert f'Sprites: object recall {written["object_recall"]:.3f}' in result.stdout
  assert (tmp_path / 'mask_overlay_Sprites.png').stat().st_size > 1000


def test_mask_quality_on_games_without_ground_truth_fails_in_one_line(tmp_path):
  result = _launch('--experiment=mask_quality', '--checkpoint=export/universal_mask',
                   '--games=JourneyEscape', f'--output={tmp_path}')
  assert result.returncode == 2
  assert result.stderr.strip().splitlines()[-1] == (
      'saarl_tf: no ground truth for any of --games=JourneyEscape; OCAtari (the eval '
      'extra) reads most Atari games, and Sprites')


def _a2c_args(root, *extra):
  return ['--experiment=a2c', '--games=Sprites', '--variant=baseline', '--num_envs=2',
          '--summary_every=5', '--checkpoint_every=100000', '--eval_every=0',
          f'--root_dir={root}', *extra]


def _files(root):
  return sorted(os.path.relpath(os.path.join(d, f), root)
                for d, _, files in os.walk(root) for f in files)


@pytest.mark.slow
def test_sigterm_stops_at_an_update_saves_and_the_same_command_resumes_there(tmp_path):
  root = tmp_path / 'run'
  process = subprocess.Popen(
      [sys.executable, '-m', 'saarl_tf.launch',
       *_a2c_args(root, '--total_frames=20000')],
      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
  # Progress lines (stdout is a pipe: one plain line per summary) show it is training.
  lines = []
  while len(lines) < 4:
    line = process.stdout.readline()
    assert line, process.communicate()[1][-3000:]
    if line.startswith('frames '):
      lines.append(line)
  assert '\r' not in ''.join(lines) and 'agent steps/s' in lines[-1]
  episodes_before = (root / 'episodes.csv').read_text()
  process.send_signal(signal.SIGTERM)
  _, stderr = process.communicate(timeout=120)
  assert process.returncode == 128 + signal.SIGTERM
  message = stderr.strip().splitlines()[-1]
  assert message.startswith('saarl_tf: stopped by SIGTERM at update ')
  assert 'Traceback' not in stderr and 'run the same command to resume' in message
  stopped_at = int(message.split('at update ')[1].split(';')[0])
  assert stopped_at >= 15
  assert (root / 'checkpoints' / 'checkpoint').exists()   # though every 100,000
  episodes = (root / 'episodes.csv').read_text()
  assert episodes.startswith(episodes_before)               # nothing lost

  resumed = _launch(*_a2c_args(root, '--total_frames=20000'))   # the same command
  assert resumed.returncode == 0, resumed.stderr[-3000:]
  assert f'at update {stopped_at} ' in resumed.stderr         # absl's log line
  assert (root / 'episodes.csv').read_text().startswith(episodes)
  assert 'results in' in resumed.stdout


@pytest.mark.slow
def test_a_resume_with_another_learning_rate_is_refused_in_one_line(tmp_path):
  root = tmp_path / 'run'
  first = _launch(*_a2c_args(root, '--total_frames=100', '--progress=false'))
  assert first.returncode == 0, first.stderr[-3000:]
  before = _files(root)
  changed = _launch(*_a2c_args(root, '--total_frames=100', '--learning_rate=1e-3',
                               '--gamma=0.9'))
  assert changed.returncode == 2
  line = changed.stderr.strip().splitlines()[-1]
  assert line.startswith(f'saarl_tf: {root} holds a run with other settings: ')
  assert '--gamma 0.99 -> 0.9' in line and '--learning_rate 0.0007 -> 0.001' in line
  assert 'Traceback' not in changed.stderr and _files(root) == before


@pytest.mark.slow
def test_a_finished_run_is_not_redone_and_a_larger_budget_extends_it(tmp_path):
  root = tmp_path / 'run'
  first = _launch(*_a2c_args(root, '--total_frames=100', '--progress=false'))
  assert first.returncode == 0, first.stderr[-3000:]
  files = {path: os.path.getmtime(root / path) for path in _files(root)}
  again = _launch(*_a2c_args(root, '--total_frames=100', '--summary_every=7'))
  assert again.returncode == 0
  assert again.stdout.startswith('Already finished. Sprites baseline: mean raw score')
  assert {path: os.path.getmtime(root / path) for path in _files(root)} == files
  longer = _launch(*_a2c_args(root, '--total_frames=200', '--progress=false'))
  assert longer.returncode == 0, longer.stderr[-3000:]
  assert 'at update 10 ' in longer.stderr                     # resumed, not redone
  with open(root / 'done.json') as f:
    assert '"total_frames": 200' in f.read()
