"""Run files through tf.io.gfile: a whole run on TensorFlow's in-memory filesystem."""

import pytest
import tensorflow as tf

from a2c_helpers import config as _config
from saarl_tf import run_layout
from saarl_tf import storage
from saarl_tf.experiments import report
from saarl_tf.training import a2c_training
from saarl_tf.training import run_files


@pytest.mark.slow
def test_a_run_on_ram_storage_writes_everything_there_and_resumes(tmp_path,
                                                                 monkeypatch):
  """With root_dir=ram://..., a joint sprites run writes config.json, the CSVs, its
  checkpoints, TensorBoard events, done.json and the policy through tf.io.gfile (no
  local file appears), resumes from its checkpoint in a new A2CRun, and a report of
  it is written to ram:// too."""
  monkeypatch.chdir(tmp_path)     # a local path taken for 'ram:' would appear here
  root = 'ram://saarl_test/runs/Sprites/joint/seed_0'
  config = _config(variant='joint', num_envs=2, total_frames=600, eval_every=20,
                   eval_games=2, mask_start_update=2, checkpoint_every=20)
  first = a2c_training.A2CRun(config, root)
  first.run(num_updates=30)               # checkpointed at 20 and where it stopped
  first.close()
  assert storage.exists(f'{root}/checkpoints/checkpoint')
  rows_before = len(run_files.read_episodes(root))

  second = a2c_training.A2CRun(config, root)
  assert second.start_update == 30
  result = second.run()
  second.close()
  assert result['total_frames'] == 600 and run_layout.finished_frames(root) == 600
  settings = run_files.read_config(root)
  assert [start['update'] for start in settings['history']] == [0, 30]
  episodes = run_files.read_episodes(root)
  assert len(episodes) > rows_before and (episodes[:, 0] <= 600).all()
  assert list(episodes[:, 0]) == sorted(episodes[:, 0])   # cut back, none twice
  evaluations = run_files.read_evaluations(root)
  assert sorted(set(evaluations[:, 1])) == [20, 40, 60]     # updates 20, 40, 60
  assert tf.io.gfile.glob(f'{root}/train/events.out.tfevents.*')
  assert storage.exists(f'{root}/policy/saved_model.pb')

  paths = report.write_report(report.find_runs('ram://saarl_test/runs/*/*/seed_*'),
                              'ram://saarl_test/report', 'ram run', 600)
  assert all(storage.exists(path) for path in paths.values())
  assert storage.exists('ram://saarl_test/report/learning_curves.svg')
  assert 'joint' in storage.read_text(paths['summary'])
  assert not list(tmp_path.iterdir())


def test_a_file_removed_between_the_check_and_the_read_reads_as_absent(tmp_path,
                                                                       monkeypatch):
  """Another process's lease file can go between `exists` and the read (seen as a
  NotFoundError in a retried task's wait): it reads as absent, as if checked after."""
  path = str(tmp_path / 'lease.json')
  monkeypatch.setattr(storage, 'exists', lambda _: True)   # the check saw it
  assert storage.read_text(path) is None


def test_a_write_that_fails_leaves_neither_the_file_nor_its_temporary(tmp_path):
  """A write that fails after its temporary exists (here the rename, onto a folder;
  a stop raises the same way) removes the temporary: no litter beside a run's files."""
  target = tmp_path / 'episodes.csv'
  (target / 'inside').mkdir(parents=True)      # a folder where the file should go
  with pytest.raises(Exception):
    storage.write_atomically(str(target), 'frames\n')
  assert sorted(p.name for p in tmp_path.iterdir()) == ['episodes.csv']
  assert target.is_dir()
