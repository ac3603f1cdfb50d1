"""Where a run came from: its commit in any config.json format, paths in the repo."""

import glob
import json
import os
import re
import subprocess

from saarl_tf import provenance


def test_run_commit_reads_the_top_level_then_the_first_start():
  first, later = 'a' * 40, 'b' * 40
  # The first runs' flat format and today's: the commit at the top level.
  assert provenance.run_commit({'git_commit': first, 'history': []}) == first
  # Runs recorded between 2026-11-28 and 2026-12-02: only per start, in history.
  assert provenance.run_commit({'history': [{'git_commit': first},
                                            {'git_commit': later}]}) == first
  assert provenance.run_commit({'game': 'Pong'}) is None


def test_repository_path_is_relative_inside_the_repository_only(tmp_path):
  root = provenance.package_root()
  inside = os.path.join(root, 'export', 'universal_mask')
  assert provenance.repository_path(inside) == os.path.join('export', 'universal_mask')
  assert provenance.repository_path(str(tmp_path)) == str(tmp_path)
  assert provenance.repository_path('gs://bucket/mask') == 'gs://bucket/mask'


def test_git_commit_names_this_checkout():
  head = subprocess.run(['git', 'rev-parse', 'HEAD'], cwd=provenance.package_root(),
                        capture_output=True, text=True, check=True).stdout.strip()
  assert provenance.git_commit().split('+')[0] == head


def test_every_committed_run_names_its_commit_and_frozen_runs_their_export():
  """The record's runs tie to code and masks a reader can check out: a commit each,
  and for a frozen run a committed export whose variables have the digest the run
  names. A mask whose weights were lost is listed in results/lost_masks.json with
  why; no committed export may have a listed digest (the list only names the lost)."""
  from saarl_tf import export  # pylint: disable=g-import-not-at-top
  from saarl_tf.training import run_files  # pylint: disable=g-import-not-at-top
  root = provenance.package_root()
  runs = sorted(os.path.dirname(path) for path in glob.glob(
      os.path.join(root, 'results', '**', 'seed_*', 'config.json'), recursive=True))
  assert len(runs) > 40
  exports = {}
  for saved in glob.glob(os.path.join(root, 'export', '*', 'saved_model.pb')):
    directory = os.path.dirname(saved)
    exports[export.mask_digest(export.load_attention(directory))] = directory
  with open(os.path.join(root, 'results', 'lost_masks.json')) as f:
    lost = json.load(f)
  assert not set(lost) & set(exports)
  frozen = 0
  for run in runs:
    settings = run_files.read_config(run)
    assert re.fullmatch('[0-9a-f]{40}', provenance.run_commit(settings)), run
    if settings['variant'] != 'frozen':
      continue
    frozen += 1
    digest = settings['mask_provenance']['variables']
    assert digest in exports or digest in lost, run
    if digest in exports:
      assert os.path.join(root, settings['mask_provenance']['path']) == \
          exports[digest], run
  assert frozen >= 12


def test_machine_names_the_isa_caps_it_ran_under(monkeypatch):
  for name in provenance.ISA_CAP_VARIABLES:
    monkeypatch.delenv(name, raising=False)
  assert 'isa_caps' not in provenance.machine()
  assert provenance.kernels_text(provenance.machine()) == 'oneDNN off'
  monkeypatch.setenv('ONEDNN_MAX_CPU_ISA', 'AVX2')
  monkeypatch.setenv('ATEN_CPU_CAPABILITY', 'avx2')
  record = provenance.machine(onednn=True)
  assert record['isa_caps'] == {'ONEDNN_MAX_CPU_ISA': 'AVX2',
                                'ATEN_CPU_CAPABILITY': 'avx2'}
  assert (provenance.kernels_text(record)
          == 'oneDNN on, ONEDNN_MAX_CPU_ISA=AVX2, ATEN_CPU_CAPABILITY=avx2')
