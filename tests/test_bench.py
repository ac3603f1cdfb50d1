"""The benchmark runs end to end and reports what it says; speed is never asserted."""

import json
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_train_benchmark_of_one_variant_reports_rate_memory_and_precision():
  result = subprocess.run(
      [sys.executable, '-m', 'saarl_tf.bench', '--what=train_one', '--variant=joint',
       '--game=Sprites', '--num_envs=4', '--updates=3', '--rounds=2',
       '--precision=float32', '--mask_pairs=2', '--json'],
      capture_output=True, text=True, timeout=300, check=False)
  assert result.returncode == 0, result.stderr[-2000:]
  record = json.loads(result.stdout.strip().splitlines()[-1])
  assert record['variant'] == 'joint' and record['precision'] == 'float32'
  assert record['agent_steps_per_s'] > 0
  assert record['peak_rss_mib'] > 100   # TensorFlow alone takes more than this


def test_the_sb3_benchmark_names_what_its_interpreter_lacks():
  """This interpreter has no Stable-Baselines3 or PyTorch: one line says so."""
  result = subprocess.run(
      [sys.executable, '-m', 'saarl_tf.bench', '--what=sb3_one', '--json'],
      capture_output=True, text=True, timeout=120, check=False)
  assert result.returncode != 0
  line = result.stderr.strip().splitlines()[-1]
  assert line.startswith(f'the Stable-Baselines3 interpreter {sys.executable} lacks ')
  assert 'stable-baselines3' in line and 'torch' in line
  assert 'pip install' in line and '"opencv-python-headless<4.11"' in line
