"""Runs that cannot be mixed up or lost: one writer per run directory, settings
checked for protocols and mask pre-training, damaged files named and repaired, stops
and bad paths before training answered in one line."""

import dataclasses
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid

import numpy as np
import pytest
import tensorflow as tf

from a2c_helpers import config as _config
from saarl_tf import config as config_lib
from saarl_tf import protocol_table
from saarl_tf import run_layout
from saarl_tf import storage
from saarl_tf.experiments import pretrain_mask
from saarl_tf.experiments import protocols
from saarl_tf.training import a2c_training
from saarl_tf.training import run_files
from saarl_tf.training import run_lease

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _launch_args(root, *extra):
  return [sys.executable, '-m', 'saarl_tf.launch', '--experiment=a2c',
          '--games=Sprites', '--variant=baseline', '--num_envs=2', '--eval_every=0',
          '--summary_every=5', '--checkpoint_every=100000', '--progress=false',
          f'--root_dir={root}', *extra]


def _launch(*args, **kwargs):
  return subprocess.run(args, capture_output=True, text=True, timeout=600, cwd=REPO,
                        check=False, **kwargs)


# --- 1. one writer per run directory ----------------------------------------------


@pytest.mark.slow
def test_two_starts_at_once_one_runs_the_other_refuses_naming_the_holder(tmp_path):
  root = tmp_path / 'run'
  args = _launch_args(root, '--total_frames=3000')
  first, second = (subprocess.Popen(args, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True, cwd=REPO)
                   for _ in range(2))
  results = [(p.wait(timeout=600), p.communicate()[1]) for p in (first, second)]
  codes = sorted(code for code, _ in results)
  assert codes == [0, 2], [stderr[-2000:] for _, stderr in results]
  refused = next(stderr for code, stderr in results if code == 2)
  line = refused.strip().splitlines()[-1]
  assert line.startswith(f'saarl_tf: {root} is being written by another process: '
                         f'host {socket.gethostname()}, pid ')
  assert 'Traceback' not in refused
  # One writer: every training game once, and one event file.
  episodes = run_files.read_episodes(str(root))
  alone = _launch(*_launch_args(tmp_path / 'alone', '--total_frames=3000'))
  assert alone.returncode == 0, alone.stderr[-2000:]
  np.testing.assert_array_equal(episodes, run_files.read_episodes(
      str(tmp_path / 'alone')))
  assert len(os.listdir(root / 'train')) == 1
  assert not (root / run_layout.LEASE_JSON).exists()            # released at the end


def _dead_pid():
  process = subprocess.Popen([sys.executable, '-c', 'pass'])
  process.wait()
  return process.pid


@pytest.mark.slow
def test_a_holder_that_died_on_this_host_does_not_block_a_resume(tmp_path):
  root = tmp_path / 'run'
  root.mkdir()
  (root / run_layout.LEASE_JSON).write_text(json.dumps(
      {'host': socket.gethostname(), 'pid': _dead_pid(), 'since': 'earlier',
       'renewed': time.time(), 'token': 'dead'}))
  result = _launch(*_launch_args(root, '--total_frames=200'))
  assert result.returncode == 0, result.stderr[-2000:]
  assert (root / 'done.json').exists()


_TAKE_AND_DROP = """
import sys
from saarl_tf.training import run_lease
print('ready', flush=True)
while True:
  run_lease.Lease(sys.argv[1]).acquire().release()
"""


def test_a_start_killed_at_any_moment_never_leaves_a_lease_that_blocks_the_next(
    tmp_path):
  """A start stopped while writing its lease frees the run as a dead holder does (an
  empty lease.json, left by a start stopped between creating and filling it, used to
  refuse every later start as 'host ?, pid ?'); a damaged lease holds nothing."""
  root = tmp_path / 'run'
  rng = np.random.default_rng(0)
  for _ in range(12):
    process = subprocess.Popen([sys.executable, '-c', _TAKE_AND_DROP, str(root)],
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline() == 'ready\n'
    time.sleep(rng.uniform(0.0, 0.05))
    process.kill()
    process.wait()
    run_lease.Lease(str(root)).acquire().release()
  assert not (root / run_layout.LEASE_JSON).exists()
  (root / run_layout.LEASE_JSON).write_text('')      # removed once SETTLE s old
  run_lease.Lease(str(root)).acquire().release()
  assert not (root / run_layout.LEASE_JSON).exists()


def test_records_written_aside_by_stopped_starts_are_swept(tmp_path):
  """A start stopped between writing its record aside and removing it (or a holder
  stopped mid-renewal) leaves a file beside the lease; the next start removes those
  of dead processes and those a minute old, and keeps a fresh one of a live process
  or one it cannot read (another start's, in flight)."""
  root = tmp_path / 'run'
  root.mkdir()
  dead = subprocess.run([sys.executable, '-c', 'import os; print(os.getpid())'],
                        capture_output=True, text=True, check=True).stdout.strip()
  record = lambda pid: json.dumps({'host': socket.gethostname(), 'pid': int(pid)})
  aside = lambda: f'{run_layout.LEASE_JSON}.{uuid.uuid4().hex}'
  old = time.time() - run_lease.LITTER_AFTER - 1
  files = {aside(): ('{"host": "h", "pid"', old, False),    # damaged, a minute old
           f'{run_layout.LEASE_JSON}.tmp': (record(os.getpid()), old, False),
           aside(): (record(dead), time.time(), False),     # a dead process's
           aside(): (record(os.getpid()), time.time(), True),     # in flight
           aside(): ('{"host": "h", "pid"', time.time(), True),   # being written
           aside(): ('[1]', time.time(), True),                   # not a record
           'episodes.csv': ('frames\n', old, True)}
  for name, (text, mtime, _) in files.items():
    (root / name).write_text(text)
    os.utime(root / name, (mtime, mtime))
  run_lease.Lease(str(root)).acquire().release()
  assert sorted(os.listdir(root)) == sorted(
      name for name, (_, _, kept) in files.items() if kept)


def test_a_lease_on_shared_storage_is_renewed_and_expires_when_its_holder_stops():
  """ram:// stands for object storage (no exclusive create, no process ids): a
  renewed lease blocks another host; one not renewed for EXPIRES_AFTER is taken."""
  root = 'ram://lease_test/run'
  holder = run_lease.Lease(root, renew_every=0.1, expires_after=1.0, settle=0.05)
  holder.acquire()
  record = json.loads(storage.read_text(f'{root}/{run_layout.LEASE_JSON}'))
  record['host'] = 'another-node'              # as if another machine held it
  storage.write_atomically(f'{root}/{run_layout.LEASE_JSON}', json.dumps(record))
  holder._record['host'] = 'another-node'       # pylint: disable=protected-access
  time.sleep(0.3)
  renewed = json.loads(storage.read_text(f'{root}/{run_layout.LEASE_JSON}'))['renewed']
  assert renewed > record['renewed']           # the holder renews it
  with pytest.raises(run_lease.RunBusy, match='host another-node'):
    run_lease.Lease(root, expires_after=1.0, settle=0.05).acquire()
  holder._stop.set()                            # pylint: disable=protected-access
  holder._thread.join()                         # pylint: disable=protected-access
  time.sleep(1.2)                               # the holder stopped renewing: expired
  successor = run_lease.Lease(root, renew_every=0.1, expires_after=1.0,
                              settle=0.05).acquire()
  holder.renew()
  assert holder.lost                            # the old holder learns it lost it
  successor.release()
  assert storage.read_text(f'{root}/{run_layout.LEASE_JSON}') is None


# --- 2, 3. settings checked for protocols and mask pre-training ---------------------


def _tiny_pretrain(**changes):
  return dataclasses.replace(
      config_lib.PretrainConfig(games=('Sprites',), num_envs=2, collect_steps=20,
                                train_steps=3, batch_size=4, eval_frames=4,
                                schedule=config_lib.ScheduleConfig(progress=False)),
      **changes)


def test_mask_pretraining_refuses_changed_settings_and_records_each_start(tmp_path):
  root = str(tmp_path / 'mask')
  pretrain_mask.run(_tiny_pretrain(), root)
  before = run_files.read_config(root)
  changed = config_lib.replace(_tiny_pretrain(train_steps=5),
                               **{'mask_loss.sparsity_weight': 0.5, 'max_gap': 3})
  with pytest.raises(run_files.SettingsChanged) as error:
    pretrain_mask.run(changed, root)
  message = str(error.value)
  assert '--sparsity_weight 0.001 -> 0.5' in message
  assert '--max_pair_gap 59 -> 3' in message and '\n' not in message
  assert run_files.read_config(root) == before                # not overwritten
  pretrain_mask.run(_tiny_pretrain(train_steps=5), root)       # more steps: allowed
  recorded = run_files.read_config(root)
  assert recorded['git_commit'] == recorded['history'][0]['git_commit']
  assert [start['step'] for start in recorded['history']] == [0, 3]
  assert recorded['history'][1]['changed'] == {'--mask_train_steps': [3, 5]}
  assert recorded['history'][0]['resolved_precision'] in ('float32',
                                                          'mixed_bfloat16')


def test_a_protocol_refuses_finished_runs_and_a_mask_made_with_other_settings(
    tmp_path):
  root = str(tmp_path)
  protocol = protocol_table.PROTOCOLS['transfer']
  a2c = _config(num_envs=2, total_frames=100)
  pretrain = _tiny_pretrain(games=protocol.mask_games)
  run_files.record_start(os.path.join(root, 'mask'),
                         pretrain_mask.settings_of(pretrain), {'step': 0})
  directory = run_layout.run_dir(root, 'Sprites', 'baseline', 0)
  run_files.record_start(directory, config_lib.to_dict(
      dataclasses.replace(a2c, game='Sprites', variant='baseline', seed=0)),
                         {'update': 0})
  run_files.write_done(directory, {'total_frames': 100})
  protocols.check_settings(protocol, root, a2c, pretrain, ['Sprites'], [0])  # same
  with pytest.raises(run_files.SettingsChanged, match=r'--learning_rate 0\.0007 -> '
                     r'0\.01'):
    protocols.check_settings(protocol, root,
                             config_lib.replace(a2c, **{'rmsprop.learning_rate': 0.01}),
                             pretrain, ['Sprites'], [0])
  with pytest.raises(run_files.SettingsChanged, match='mask holds a run with other '
                     r'settings: --mask_train_steps 3 -> 2 \(a run may only'):
    protocols.check_settings(protocol, root, a2c,
                             dataclasses.replace(pretrain, train_steps=2),
                             ['Sprites'], [0])
  # A budget smaller than a finished run's is read from it, not a change.
  protocols.check_settings(protocol, root, dataclasses.replace(a2c, total_frames=50),
                           pretrain, ['Sprites'], [0])


# --- 4. damaged files ----------------------------------------------------------------


def test_a_cut_last_csv_row_is_dropped_and_made_again_from_the_checkpoint(tmp_path):
  config = _config(num_envs=4, total_frames=4 * 5 * 40, checkpoint_every=10)
  run = a2c_training.A2CRun(config, str(tmp_path))
  run.run(20)
  run.close()
  path = tmp_path / run_layout.EPISODES_CSV
  rows = path.read_text()
  path.write_text(rows + '154,,')                            # a crash mid-write
  assert len(run_files.read_episodes(str(tmp_path))) == rows.count('\n') - 1
  resumed = a2c_training.A2CRun(config, str(tmp_path))
  resumed.run()
  resumed.close()
  text = path.read_text()
  assert text.startswith(rows) and '154,,' not in text
  episodes = run_files.read_episodes(str(tmp_path))
  assert np.all(np.diff(episodes[:, 0]) >= 0) and np.all(np.isfinite(episodes))


def test_a_damaged_row_inside_a_log_is_named_in_one_line(tmp_path):
  (tmp_path / run_layout.EPISODES_CSV).write_text(
      'frames,raw_return,agent_steps\n80,1.0,5\n160,,\n240,0.0,7\n')
  with pytest.raises(ValueError, match=r'episodes.csv is damaged: row 3 is '
                     'incomplete'):
    run_files.read_episodes(str(tmp_path))


def test_a_damaged_newest_checkpoint_falls_back_to_the_previous_one(tmp_path, caplog):
  config = _config(num_envs=4, total_frames=4 * 5 * 40, checkpoint_every=10)
  run = a2c_training.A2CRun(config, str(tmp_path))
  run.run(25)                                     # checkpoints at 20 and 25 (stop)
  run.close()
  latest = tf.train.latest_checkpoint(str(tmp_path / 'checkpoints'))
  assert latest.endswith('-25')
  data = next(p for p in tf.io.gfile.glob(latest + '.data*'))
  with open(data, 'r+b') as f:
    f.truncate(os.path.getsize(data) // 2)        # 'Read less bytes than requested'
  resumed = a2c_training.A2CRun(config, str(tmp_path))
  assert resumed.start_update == 20
  assert any('is damaged' in r.getMessage() and 'previous checkpoint' in r.getMessage()
             for r in caplog.records)
  resumed.run()
  resumed.close()
  assert run_layout.read_done(str(tmp_path))['updates'] == 40


def test_an_invalid_config_json_is_named_in_one_line(tmp_path):
  root = tmp_path / 'run'
  root.mkdir()
  (root / 'config.json').write_text('{"game": "Sprites", ')
  result = _launch(*_launch_args(root, '--total_frames=100'))
  assert result.returncode == 2
  line = result.stderr.strip().splitlines()[-1]
  assert line.startswith(f'saarl_tf: {root}/config.json is damaged: not valid JSON')
  assert 'Traceback' not in result.stderr


@pytest.mark.parametrize('text', ['[]', '{}', '{"game": "Sprites"}'])
def test_a_config_json_that_is_not_a_runs_settings_is_one_line(tmp_path, text):
  root = tmp_path / 'run'
  root.mkdir()
  (root / 'config.json').write_text(text)
  result = _launch(*_launch_args(root, '--total_frames=100'))
  assert result.returncode == 2
  lines = result.stderr.strip().splitlines()
  assert len(lines) == 1 and lines[0].startswith(
      f"saarl_tf: {root}/config.json is not a run's settings"), result.stderr
  assert 'move the directory aside, or give the run another --root_dir' in lines[0]


@pytest.mark.slow
def test_a_damaged_mask_export_is_named_not_taken_for_a_missing_checkpoint(tmp_path):
  damaged = tmp_path / 'mask'
  shutil.copytree(os.path.join(REPO, 'export', 'universal_mask'), damaged)
  with open(damaged / 'saved_model.pb', 'r+b') as f:
    f.truncate(100)
  result = _launch(*_launch_args(tmp_path / 'run', '--total_frames=100',
                                 '--variant=frozen', f'--mask_checkpoint={damaged}'))
  assert result.returncode == 2
  line = result.stderr.strip().splitlines()[-1]
  assert line.startswith(f"saarl_tf: '{damaged}' is a damaged mask export")
  assert 'No attention checkpoint' not in result.stderr


# --- 5. stops and paths before training --------------------------------------------


def test_an_unwritable_root_dir_is_refused_before_anything_is_built(tmp_path):
  (tmp_path / 'file').write_text('')
  started = time.perf_counter()
  result = _launch(*_launch_args(tmp_path / 'file' / 'run', '--total_frames=100'))
  assert result.returncode == 2
  assert result.stderr.strip().splitlines() == [
      f'saarl_tf: --root_dir={tmp_path}/file/run is not writable: [Errno 20] Not a '
      f"directory: '{tmp_path}/file/run'"]
  assert time.perf_counter() - started < 30     # no TensorFlow set-up first


@pytest.mark.parametrize('flags, bad', [
    (['--flagfile=launch/smoke.flags', '--experiment=transfer', '--root_dir={tmp}/r',
      '--export_dir={tmp}/file/x'], '--export_dir={tmp}/file/x'),
    (['--experiment=report', "--runs=results/transfer/runs/*/*/seed_*",
      '--output={tmp}/file/out'], '--output={tmp}/file/out'),
    (['--experiment=play', '--mask=export/universal_mask', '--games=Pong',
      '--video={tmp}/file/dir/v.mp4'], '--video={tmp}/file/dir/v.mp4'),
    (['--experiment=export', '--checkpoint=export/universal_mask',
      '--export_dir={tmp}/file/m/x'], '--export_dir={tmp}/file/m/x'),
])
def test_every_output_location_is_checked_before_any_work(tmp_path, flags, bad):
  """Where the export, a report, a video or an export goes is tried first: an
  unwritable one is one line, before TensorFlow or any training starts."""
  (tmp_path / 'file').write_text('')
  started = time.perf_counter()
  result = subprocess.run(
      [sys.executable, '-m', 'saarl_tf.launch',
       *[flag.format(tmp=tmp_path) for flag in flags]],
      capture_output=True, text=True, timeout=120, cwd=REPO)
  assert result.returncode == 2, result.stderr[-2000:]
  lines = result.stderr.strip().splitlines()
  assert len(lines) == 1 and lines[0].startswith(
      f'saarl_tf: {bad.format(tmp=tmp_path)} is not writable: [Errno 20] Not a '
      'directory'), lines
  assert time.perf_counter() - started < 30
  assert not (tmp_path / 'r').exists() or not os.listdir(tmp_path / 'r')


@pytest.mark.parametrize('cut', ['middle', 'last row'])
def test_log_rows_lost_behind_the_checkpoint_come_back_from_it(tmp_path, cut):
  """A finished run whose episodes.csv was cut (in the middle, or its last row), then
  extended: every row the checkpoint had seen is back, exactly as first written, and
  the report's final score is done.json's."""
  from saarl_tf.experiments import report  # pylint: disable=g-import-not-at-top
  config = _config(num_envs=2, total_frames=3000, checkpoint_every=100)
  a2c_training.train(config, str(tmp_path))
  path = tmp_path / run_layout.EPISODES_CSV
  written = path.read_text()
  lines = written.splitlines(keepends=True)
  keep = len(lines) // 2 if cut == 'middle' else len(lines) - 1
  path.write_text(''.join(lines[:keep]))
  done = a2c_training.train(dataclasses.replace(config, total_frames=4000),
                            str(tmp_path))
  assert path.read_text().startswith(written)
  logs = report.read_run(str(tmp_path))
  final = np.mean(logs.episodes[-100:, 1])
  assert final == pytest.approx(done['mean100_raw_return'], abs=1e-6)


def test_a_stopped_run_resumed_plays_on_exactly_as_if_never_stopped(tmp_path):
  """Sprites: the checkpoint holds the games in play, the losses and every row, so a
  run stopped at update 17 and resumed writes the logs and record of a run never
  stopped (the action noise is keyed by update, the pair sampler's state is saved)."""
  config = _config(variant='joint', num_envs=4, total_frames=4 * 5 * 30,
                   eval_every=10, eval_games=3, mask_start_update=2,
                   checkpoint_every=7, precision='float32')
  whole, cut = tmp_path / 'whole', tmp_path / 'cut'
  expected = a2c_training.train(config, str(whole))
  run = a2c_training.A2CRun(config, str(cut))
  run.run(17)
  run.close()
  assert a2c_training.train(config, str(cut)) == expected
  for name in (run_layout.EPISODES_CSV, run_layout.EVAL_CSV, 'eval_sticky.csv'):
    assert (cut / name).read_text() == (whole / name).read_text(), name


def test_a_retried_task_waits_for_the_worker_it_replaces_to_end(tmp_path):
  """A Ray task's start waits (run_lease.set_wait) for a live holder instead of
  refusing: the holder here ends after a second, and the second start then holds."""
  holder = run_lease.Lease(str(tmp_path)).acquire()
  threading.Timer(1.0, holder.release).start()
  run_lease.set_wait(30)
  try:
    started = time.perf_counter()
    successor = run_lease.Lease(str(tmp_path)).acquire()
    assert 0.9 < time.perf_counter() - started < 20
    successor.release()
  finally:
    run_lease.set_wait(0)
  with run_lease.Lease(str(tmp_path)):
    with pytest.raises(run_lease.RunBusy):      # without waiting: refused at once
      run_lease.Lease(str(tmp_path)).acquire()


def test_a_run_carried_by_keep_sh_resumes_elsewhere_as_if_never_stopped(tmp_path):
  """results/transfer40m/keep.sh carries an unfinished run (its newest checkpoint, no
  lease) in results/ and a finished run's records; a copy of the carried files alone,
  on another machine, resumes and ends as a run never stopped."""
  config = _config(num_envs=4, total_frames=4 * 5 * 30, checkpoint_every=7,
                   precision='float32')
  expected = a2c_training.train(config, str(tmp_path / 'whole'))
  here = tmp_path / 'checkout'
  scripts = here / 'results' / 'transfer40m'
  scripts.mkdir(parents=True)
  shutil.copy(os.path.join(REPO, 'results', 'transfer40m', 'keep.sh'), scripts)
  runs = here / 'runs' / 'transfer40m' / 'runs' / 'Sprites'
  run = a2c_training.A2CRun(config, str(runs / 'baseline' / 'seed_0'))
  run.run(17)                                     # checkpoints at 14 and 17 (stop)
  run.close()
  (runs / 'baseline' / 'seed_0' / 'lease.json').write_text('{"host": "gone"}')
  finished = runs / 'frozen' / 'seed_1'
  finished.mkdir(parents=True)
  for name in ('config.json', 'done.json', 'episodes.csv', 'eval.csv'):
    (finished / name).write_text(name)

  subprocess.run(['bash', str(scripts / 'keep.sh')], check=True, capture_output=True)

  carried = scripts / 'carried' / 'Sprites' / 'baseline' / 'seed_0'
  assert sorted(os.listdir(carried / 'checkpoints')) == [
      'checkpoint', 'ckpt-17.data-00000-of-00001', 'ckpt-17.index']
  assert not (carried / 'lease.json').exists()
  assert not (scripts / 'carried' / 'Sprites' / 'frozen').exists()
  kept = scripts / 'runs' / 'Sprites' / 'frozen' / 'seed_1'
  assert sorted(os.listdir(kept)) == ['config.json', 'done.json', 'episodes.csv',
                                      'eval.csv']
  elsewhere = tmp_path / 'another_machine' / 'seed_0'
  shutil.copytree(carried, elsewhere)
  assert a2c_training.train(config, str(elsewhere)) == expected
  assert ((elsewhere / run_layout.EPISODES_CSV).read_text()
          == (tmp_path / 'whole' / run_layout.EPISODES_CSV).read_text())
