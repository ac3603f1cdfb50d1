"""Protocols on Ray: the same results as one run after another, and no run lost or
redone from scratch when a worker dies."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import ray  # the `cluster` extra; CI installs it

from ray_cluster_run import read_json as _read_json  # also the cluster test's helper
from saarl_tf import run_layout
from saarl_tf.experiments import executors
from saarl_tf.training import run_files

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = dict(os.environ, RAY_USAGE_STATS_ENABLED='0', TF_CPP_MIN_LOG_LEVEL='3')


def _command(*args):
  return [sys.executable, '-m', 'saarl_tf.launch', '--flagfile=launch/smoke.flags',
          *args]


def _rows(path):
  with open(path, newline='') as f:
    return list(csv.DictReader(f))


@pytest.mark.slow
def test_the_smoke_transfer_protocol_on_ray_gives_the_local_results(tmp_path):
  """Mask pre-training first, then a baseline and a frozen run as Ray tasks (the
  frozen one waiting for the mask), two at a time on 2 CPUs: results.csv holds the
  same rows as the same protocol run one after another here."""
  for executor in ('local', 'ray'):
    result = subprocess.run(
        _command('--experiment=transfer', f'--executor={executor}',
                 '--cpus_per_run=1', f'--root_dir={tmp_path}/{executor}',
                 f'--export_dir={tmp_path}/{executor}_export'),
        cwd=REPO, env=ENV, capture_output=True, text=True, timeout=1200, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
  local, on_ray = (_rows(tmp_path / name / 'results.csv') for name in ('local', 'ray'))
  assert {(row['variant'], row['kind']) for row in local} >= {
      ('baseline', 'train'), ('frozen', 'train')}
  assert on_ray == local
  # The frozen run on Ray used the mask its pre-training task made.
  frozen = run_files.read_config(tmp_path / 'ray' / 'runs' / 'Sprites' / 'frozen' /
                                 'seed_0')
  assert frozen['mask_checkpoint'] == str(tmp_path / 'ray' / 'mask' / 'checkpoints')


@pytest.mark.slow
def test_a_run_whose_ray_worker_is_killed_resumes_from_its_checkpoint(tmp_path):
  """SIGKILL to the worker process of a running run: Ray retries the task, the run
  resumes from its checkpoint (its update counter does not restart at 0), the
  protocol completes, and results.csv holds each run once, every game once."""
  root = tmp_path / 'single_task'
  process = subprocess.Popen(
      _command('--experiment=single_task', '--executor=ray', '--cpus_per_run=1',
               '--total_frames=4000', '--checkpoint_every=20', '--seeds=0',
               f'--root_dir={root}', f'--export_dir={tmp_path}/export'),
      cwd=REPO, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
  victim = root / 'runs' / 'Sprites' / 'joint' / 'seed_0'
  killed = None
  deadline = time.time() + 600
  while killed is None and time.time() < deadline and process.poll() is None:
    settings = _read_json(victim / 'config.json')
    if (settings and (victim / 'checkpoints' / 'checkpoint').exists()
        and not (victim / 'done.json').exists()):
      killed = settings['history'][-1]['pid']
      os.kill(killed, signal.SIGKILL)
    time.sleep(0.1)
  output, _ = process.communicate(timeout=900)
  assert killed is not None, 'the run ended before it could be killed:\n' + output
  assert process.returncode == 0, output[-3000:]

  starts = run_files.read_config(victim)['history']
  assert len(starts) == 2 and starts[0]['pid'] == killed != starts[1]['pid']
  assert starts[1]['update'] >= 20              # resumed, not restarted at 0
  assert run_layout.finished_frames(victim) == 4000
  rows = _rows(root / 'results.csv')
  assert {(row['variant'], row['seed']) for row in rows} == {('baseline', '0'),
                                                             ('joint', '0')}
  for variant in ('baseline', 'joint'):
    run = root / 'runs' / 'Sprites' / variant / 'seed_0'
    train = [row for row in rows if row['variant'] == variant and row['kind'] == 'train']
    episodes = run_files.read_episodes(run)
    assert len(train) == len(episodes)
    assert (episodes[:, 0] <= 4000).all()
    assert list(episodes[:, 0]) == sorted(episodes[:, 0])   # cut back, none twice




def test_an_unknown_executor_is_refused_in_one_line():
  with pytest.raises(ValueError, match="executor 'slurm': expected one of local, ray"):
    executors.make_executor('slurm')


@pytest.mark.slow
def test_ray_tasks_size_tensorflows_threads_to_their_cpus():
  """A task asking for 1 CPU runs with one intra-op thread, in a process of its own;
  2 CPUs hold two such runs at once."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  executor = executors.RayExecutor(cpus_per_run=1, num_cpus=2)
  try:
    capacity = executor.capacity()
    threads = executor.gather(
        [executor.submit(tf.config.threading.get_intra_op_parallelism_threads)
         for _ in range(2)])
    pids = executor.gather([executor.submit(os.getpid) for _ in range(3)])
  finally:
    executor.close()
  assert capacity == executors.Capacity(runs_at_once=2, cpus_per_run=1)
  assert threads == [1, 1]
  assert len(set(pids)) == 3 and os.getpid() not in pids
  assert not ray.is_initialized()


@pytest.mark.slow
def test_a_protocol_survives_losing_the_node_that_runs_a_training_task(tmp_path):
  """Ray's multi-node test cluster on one machine (a head with no CPUs, two worker
  nodes; tests/ray_cluster_run.py, in a fresh interpreter): the node running a
  training task is removed mid-run; Ray retries the task on the other node, which
  resumes the run from its last checkpoint in the shared run directory; the protocol
  completes with each run once and its rows equal to its episodes.csv."""
  root = tmp_path / 'transfer'
  result = subprocess.run(
      [sys.executable, os.path.join(REPO, 'tests', 'ray_cluster_run.py'), str(root),
       str(tmp_path / 'export')],
      cwd=REPO, env=ENV, capture_output=True, text=True, timeout=2400, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  outcome = json.loads(result.stdout.strip().splitlines()[-1])
  assert outcome['removed'], 'no training task was caught running:\n' + outcome['output']
  assert outcome['returncode'] == 0, outcome['output']
  victim = outcome['victim']
  runs = [root / 'runs' / 'Sprites' / variant / 'seed_0'
          for variant in ('baseline', 'frozen')]
  starts = run_files.read_config(victim)['history']
  assert len(starts) == 2 and starts[0]['pid'] != starts[1]['pid']
  assert starts[1]['update'] >= 20              # resumed from its checkpoint
  rows = _rows(root / 'results.csv')
  for run, variant in zip(runs, ('baseline', 'frozen')):
    assert run_layout.finished_frames(run) == 4000
    train = [row for row in rows if row['variant'] == variant and row['kind'] == 'train']
    episodes = run_files.read_episodes(run)
    assert [float(row['frames']) for row in train] == list(episodes[:, 0])
    assert [float(row['raw_return']) for row in train] == list(episodes[:, 1])
