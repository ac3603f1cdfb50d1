"""The benchmark runs end to end and reports what it says; speed is never asserted."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from saarl_tf import bench


def _bench_record(*args, timeout=300):
  """Runs `python -m saarl_tf.bench ARGS --json`; its JSON record."""
  result = subprocess.run([sys.executable, '-m', 'saarl_tf.bench', *args, '--json'],
                          capture_output=True, text=True, timeout=timeout, check=False)
  assert result.returncode == 0, result.stderr[-2000:]
  return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_train_benchmark_of_one_variant_reports_rate_memory_and_precision():
  record = _bench_record('--what=train_one', '--variant=joint', '--game=Sprites',
                         '--num_envs=4', '--updates=3', '--rounds=2',
                         '--precision=float32', '--mask_pairs=2')
  assert record['variant'] == 'joint' and record['precision'] == 'float32'
  assert record['agent_steps_per_s'] > 0
  assert record['peak_rss_mib'] > 100   # TensorFlow alone takes more than this


@pytest.mark.slow
def test_the_train_benchmark_interleaves_long_lived_processes_and_names_the_machine():
  """--what=train: the raw env and each variant measured in a process of its own,
  round by round; the record names the machine, oneDNN, precision and threads."""
  record = _bench_record('--what=train', '--game=Breakout', '--num_envs=2',
                         '--updates=2', '--rounds=2', '--steps=10',
                         '--precision=float32', timeout=900)
  for name in ('raw_vector_env', 'baseline', 'joint', 'frozen'):
    assert record[name]['agent_steps_per_s'] > 0, name
    assert record[name]['peak_rss_mib'] > 50, name
  for name in ('baseline', 'joint', 'frozen'):
    assert record[name]['precision'] == 'float32'
    assert 0 < record[name]['cores_busy'] <= os.cpu_count() + 0.5
  machine = record['machine']
  assert machine['cores'] == os.cpu_count() and isinstance(machine['onednn'], bool)
  assert machine['versions']['tensorflow']
  assert record['threads'] == {'intra_op': 1, 'inter_op': 2}


@pytest.mark.slow
def test_the_train_benchmark_measures_another_checkout_from_its_own_package(tmp_path):
  """--before=DIR: DIR's variants join the same rounds, each imported from DIR."""
  package = os.path.dirname(bench.__file__)
  before = tmp_path / 'before'
  shutil.copytree(package, before / 'saarl_tf',
                  ignore=shutil.ignore_patterns('__pycache__'))
  record = _bench_record('--what=train', '--game=Breakout', '--num_envs=2',
                         '--updates=2', '--rounds=2', '--steps=10',
                         '--precision=float32', f'--before={before}', timeout=1200)
  for variant in ('baseline', 'joint', 'frozen'):
    assert record[variant]['package'] == package
    assert record[f'{variant} (before)']['package'] == str(before / 'saarl_tf')
    assert record[f'{variant} (before)']['agent_steps_per_s'] > 0


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


@pytest.mark.parametrize('event, part', [
    ('ActorCriticNetwork/conv1/Relu:_MklNativeFusedConv2D', 'actor-critic forward'),
    ('gradient_tape/conv0/Conv2D/Conv2DBackpropFilter:_MklNativeConv2DBackpropFilter',
     'actor-critic backward'),
    ('mask_generator/convs/norm0/Mean:Mean', 'mask generator layer norms forward'),
    ('gradient_tape/mask_generator/convs/norm0/mul_1/Sum:Sum',
     'mask generator layer norms backward'),
    ('gradient_tape/mask_generator/convs/conv1/Conv2D/Conv2DBackpropInput:'
     '_MklNativeConv2DBackpropInput', 'mask generator backward'),
    ('self_supervised_attention/decoder/deconvs/deconv2/conv/BiasAdd:_MklNativeFusedConv2D',
     'decoder forward'),
    ('self_supervised_attention/encoder/convs/conv0/Relu:_MklNativeFusedConv2D',
     'encoder forward'),
    ('RMSprop/update/ResourceApplyRMSProp:ResourceApplyRMSProp', 'optimizers forward'),
    ('driver_loop/TFPyEnvironment_step/EagerPyFunc:EagerPyFunc',
     'environment step (Python + emulator)'),
    ('truediv_1:Mul', 'other forward'),
    ('ExecutorState::Process', None),
    ('driver_loop/while:While', None),
])
def test_the_profile_charges_each_op_to_its_part_of_the_update(event, part):
  assert bench.profile_part(event) == part


@pytest.mark.slow
def test_the_profile_of_a_joint_update_finds_the_attention_modules_parts():
  """A real profiled joint run (sprites): the decoder, mask generator and its layer
  norms, the encoder, the actor-critic and the environment each take time, forward and
  backward where there is a backward; the parts add up to the threads' busy time."""
  record = _bench_record('--what=profile', '--variant=joint', '--game=Sprites',
                         '--num_envs=4', '--updates=3', '--precision=float32',
                         '--mask_pairs=2')
  parts = record['thread_ms_per_update']
  for part in ('decoder', 'mask generator', 'mask generator layer norms', 'encoder',
               'actor-critic'):
    for direction in ('forward', 'backward'):
      assert parts.get(f'{part} {direction}', 0) > 0, (part, direction, parts)
  assert parts['environment step (Python + emulator)'] > 0
  assert record['busy_threads'] == pytest.approx(
      sum(parts.values()) / record['wall_ms_per_update'])
  assert record['precision'] == 'float32' and record['updates'] == 3
