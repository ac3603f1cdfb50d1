"""The launcher: bad flag values stop it at once, with one line that names them."""

import os
import subprocess
import sys

import pytest


def _launch(*args):
  return subprocess.run([sys.executable, '-m', 'saarl_tf.launch', *args],
                        capture_output=True, text=True, timeout=120, check=False)


BAD_FLAGS = [
    (('--games=Asteroids,MsPacmn',), "'MsPacmn': did you mean ms_pacman"),
    (('--experiment=fly',), 'value should be one of <pretrain_mask|a2c|export|'),
    (('--experiment=export', '--checkpoint={tmp}'),
     '--experiment=export needs --checkpoint=<pretrain_mask run>/checkpoints holding a '
     'checkpoint; got --checkpoint={tmp}'),
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
     '--mask_checkpoint={tmp}/nowhere holds no checkpoint'),
    (('--experiment=a2c', '--games=Pong', '--mask_init_checkpoint={tmp}/nowhere'),
     '--mask_init_checkpoint={tmp}/nowhere holds no checkpoint'),
    (('--experiment=a2c', '--games=Pong', '--gamma=1.5'),
     '--gamma=1.5: 1.5 is not a number in the range [0, 1]'),
    (('--experiment=a2c', '--games=Pong', '--learning_rate=0'),
     '--learning_rate must be > 0'),
    (('--experiment=a2c', '--games=Pong', '--precision=fp16'),
     'value should be one of <float32|mixed_bfloat16|auto>'),
    (('--experiment=a2c', '--games=Pong', '--mask_update=joint'),
     'value should be one of <separate|summed>'),
    (('--experiment=a2c', '--games=Pong', '--eval_policy=best'),
     'value should be one of <greedy|sample>'),
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
