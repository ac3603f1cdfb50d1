"""The TensorFlow runtime each entry point sets: oneDNN and the thread pools."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from saarl_tf import provenance
from saarl_tf import runtime


@pytest.mark.parametrize('flags, expected', [
    (('avx2', 'fma'), '1'),                     # AVX2 without AVX-512: turned on
    (('avx2', 'avx512f', 'avx512_bf16'), None),  # TensorFlow turns it on itself
    (('sse4_2',), None),                        # no AVX2: left as TensorFlow has it
])
def test_onednn_is_turned_on_only_for_avx2_cpus_without_avx512(monkeypatch, flags,
                                                               expected):
  monkeypatch.setattr(provenance, 'cpu_flags', lambda: flags)
  environ = {}
  assert runtime.prefer_onednn(environ) == (expected is not None)
  assert environ.get(runtime.ONEDNN_VARIABLE) == expected


def test_a_users_onednn_setting_is_kept(monkeypatch):
  monkeypatch.setattr(provenance, 'cpu_flags', lambda: ('avx2',))
  environ = {runtime.ONEDNN_VARIABLE: '0'}
  assert not runtime.prefer_onednn(environ)
  assert environ[runtime.ONEDNN_VARIABLE] == '0'


def _run(root, *extra, environ=None):
  """A tiny sprites A2C run through the launcher; its done.json and config.json."""
  subprocess.run(
      [sys.executable, '-m', 'saarl_tf.launch', '--experiment=a2c', '--games=Sprites',
       '--variant=joint', '--num_envs=2', '--total_frames=200', '--eval_every=0',
       '--precision=float32', '--mask_start_update=2', '--summary_every=5',
       f'--root_dir={root}', *extra],
      check=True, capture_output=True, text=True, timeout=300,
      env=dict(os.environ, **(environ or {})))
  with open(os.path.join(root, 'done.json')) as f:
    done = json.load(f)
  with open(os.path.join(root, 'config.json')) as f:
    return done, json.load(f)


@pytest.mark.slow
def test_the_thread_pools_and_onednn_change_nothing_beyond_rounding(tmp_path):
  """The launcher's thread pools are the run's (recorded in config.json), and neither
  they nor oneDNN change what a run computes beyond float rounding: the same run with
  oneDNN off and TensorFlow's default pools ends with the same losses."""
  ours, config = _run(tmp_path / 'ours')
  machine = config['history'][0]['machine']
  assert machine['tf_threads'] == {'intra_op': runtime.DEFAULT_INTRA_OP_THREADS,
                                   'inter_op': runtime.DEFAULT_INTER_OP_THREADS}
  other, config = _run(tmp_path / 'other', '--intra_op_threads=0',
                       '--inter_op_threads=0',
                       environ={runtime.ONEDNN_VARIABLE: '0'})
  machine = config['history'][0]['machine']
  assert machine['onednn'] is False
  assert machine['tf_threads'] == {'intra_op': 0, 'inter_op': 0}
  for name in ('policy', 'value', 'entropy', 'mask_total', 'mean100_raw_return'):
    np.testing.assert_allclose(ours[name], other[name], rtol=1e-3, atol=1e-5,
                               err_msg=name)
