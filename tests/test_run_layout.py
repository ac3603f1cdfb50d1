"""The run layout: names, directories and the one "finished" check."""

import json
import subprocess
import sys

from saarl_tf import run_layout


def test_a_protocols_run_directory_is_runs_game_variant_seed():
  assert run_layout.run_dir('root', 'MsPacman', 'joint', 3) == \
      'root/runs/MsPacman/joint/seed_3'
  assert run_layout.checkpoints_dir(run_layout.mask_run_dir('root')) == \
      'root/mask/checkpoints'


def test_evaluation_modes_keep_the_records_file_names():
  assert run_layout.eval_csv('noop') == run_layout.EVAL_CSV == 'eval.csv'
  assert run_layout.eval_csv('sticky') == 'eval_sticky.csv'
  assert run_layout.eval_group('sticky') == 'eval_sticky'


def test_a_run_is_finished_only_for_a_budget_it_reached(tmp_path):
  assert not run_layout.is_finished(str(tmp_path), 1)
  assert run_layout.read_done(str(tmp_path)) is None
  (tmp_path / run_layout.DONE_JSON).write_text(json.dumps({'total_frames': 400}))
  assert run_layout.finished_frames(str(tmp_path)) == 400
  assert run_layout.is_finished(str(tmp_path), 400)
  assert run_layout.is_finished(str(tmp_path), 300)      # a larger budget is read
  assert not run_layout.is_finished(str(tmp_path), 401)
  assert run_layout.finished_record(str(tmp_path), 400) == {'total_frames': 400}
  assert run_layout.finished_record(str(tmp_path), 401) is None


def test_checkpoint_and_export_directories_are_told_apart(tmp_path):
  assert not run_layout.holds_checkpoint(str(tmp_path))
  (tmp_path / run_layout.CHECKPOINT_INDEX).write_text('')
  assert run_layout.holds_checkpoint(str(tmp_path))
  assert not run_layout.holds_export(str(tmp_path))
  (tmp_path / run_layout.SAVED_MODEL).write_bytes(b'')
  assert run_layout.holds_export(str(tmp_path))


def test_the_layout_and_the_protocol_table_load_without_tensorflow(tmp_path):
  code = ('import sys; from saarl_tf import run_layout, protocol_table; '
          f'run_layout.is_finished({str(tmp_path)!r}, 1); '
          'print("tensorflow" in sys.modules)')
  out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                       check=True)
  assert out.stdout.strip() == 'False'
