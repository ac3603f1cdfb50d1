"""The launcher: bad flag values stop it at once, with one line that names them."""

import os
import subprocess
import sys


def _launch(*args):
  return subprocess.run([sys.executable, '-m', 'saarl_tf.launch', *args],
                        capture_output=True, text=True, timeout=120, check=False)


def test_launcher_rejects_bad_flags_before_any_work(tmp_path):
  cases = {
      ('--games=Asteroids,MsPacmn',): "'MsPacmn': did you mean ms_pacman",
      ('--experiment=fly',): '--experiment must be one of: pretrain_mask, a2c, export, single_task',
      ('--experiment=export', f'--checkpoint={tmp_path}'):
          f'--experiment=export needs --checkpoint=<pretrain_mask run>/checkpoints '
          f'holding a checkpoint; got --checkpoint={tmp_path}',
      ('--mask_train_steps=-5',): '--mask_train_steps must be >= 0',
      ('--num_envs=0',): '--num_envs must be >= 1',
      ('--experiment=a2c', '--games=Pong,Breakout'):
          '--experiment=a2c trains on one game; got --games=Pong,Breakout',
      ('--experiment=transfer', '--seeds=0,x'):
          '--seeds must be a comma-separated list of integers, got 0,x',
      ('--experiment=a2c', '--games=Pong', '--total_frames=-1'):
          '--total_frames must be >= 1',
      ('--experiment=a2c', '--games=Pong', '--variant=attentive'):
          "value should be one of <baseline|joint|frozen>",
      ('--experiment=a2c', '--games=Pong', '--variant=frozen'):
          '--variant=frozen needs --mask_checkpoint',
      ('--experiment=a2c', '--games=Pong', '--variant=frozen',
       f'--mask_checkpoint={tmp_path}/nowhere'):
          f'--mask_checkpoint={tmp_path}/nowhere holds no checkpoint',
      ('--experiment=a2c', '--games=Pong', '--gamma=1.5'): '--gamma must be in [0, 1]',
      ('--experiment=a2c', '--games=Pong', '--precision=fp16'):
          'value should be one of <float32|mixed_bfloat16|auto>',
  }
  for args, expected in cases.items():
    result = _launch(*args, f'--root_dir={tmp_path}/run')
    assert result.returncode != 0
    # absl adds a second line pointing at --helpshort; the error is the first.
    first_line = result.stderr.strip().splitlines()[0]
    assert expected in first_line, result.stderr
    assert not os.path.exists(f'{tmp_path}/run')
