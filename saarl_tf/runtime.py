"""The process's TensorFlow runtime: oneDNN and thread pools, set before it starts.

Both are process-wide and fixed once TensorFlow has run its first op, so the entry
points (`launch`, `bench`, a Ray task) set them first; neither changes what a run
computes beyond float rounding (docs/BENCHMARK.md has the measurements).

* oneDNN: TensorFlow 2.15 turns its oneDNN CPU kernels on by itself only on CPUs with
  AVX-512; on AVX2-only CPUs they are off unless `TF_ENABLE_ONEDNN_OPTS=1`, and on
  there they are faster. `prefer_onednn` sets the variable before TensorFlow loads,
  unless the user set it.
* Thread pools: A2C's kernels are small (batches of 16-96 frames); one intra-op thread
  per kernel with two kernels side by side keeps both cores of a 2-core machine
  busier than two threads splitting each kernel (`DEFAULT_INTRA_OP_THREADS`).
"""

import os

from saarl_tf import provenance

ONEDNN_VARIABLE = 'TF_ENABLE_ONEDNN_OPTS'
DEFAULT_INTRA_OP_THREADS = 1
DEFAULT_INTER_OP_THREADS = 2


def prefer_onednn(environ=os.environ) -> bool:
  """Turns TensorFlow's oneDNN kernels on for an AVX2 CPU without AVX-512, before
  TensorFlow loads, unless `TF_ENABLE_ONEDNN_OPTS` is set; returns whether it set it."""
  flags = provenance.cpu_flags()
  if ONEDNN_VARIABLE in environ or 'avx2' not in flags or 'avx512f' in flags:
    return False
  environ[ONEDNN_VARIABLE] = '1'
  return True


def set_threads(intra_op: int = DEFAULT_INTRA_OP_THREADS,
                inter_op: int = DEFAULT_INTER_OP_THREADS):
  """Sizes TensorFlow's thread pools: `intra_op` threads share one kernel's work,
  `inter_op` kernels run side by side; 0 leaves TensorFlow's default (one per core).
  Call before TensorFlow runs an op."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  tf.config.threading.set_intra_op_parallelism_threads(intra_op)
  tf.config.threading.set_inter_op_parallelism_threads(inter_op)


def define_flags(flag_values):
  """--intra_op_threads and --inter_op_threads, for the entry points."""
  from absl import flags  # pylint: disable=g-import-not-at-top
  flags.DEFINE_integer(
      'intra_op_threads', DEFAULT_INTRA_OP_THREADS, "Threads sharing one TensorFlow "
      "kernel's work (0: one per core, TensorFlow's default); 1 is the faster on 2 "
      'cores.', lower_bound=0, flag_values=flag_values)
  flags.DEFINE_integer(
      'inter_op_threads', DEFAULT_INTER_OP_THREADS, 'TensorFlow kernels run side by '
      'side (0: one per core).', lower_bound=0, flag_values=flag_values)


def threads() -> dict:
  """TensorFlow's thread pools as set ({'intra_op': n, 'inter_op': m}; 0: one per
  core)."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  return {'intra_op': tf.config.threading.get_intra_op_parallelism_threads(),
          'inter_op': tf.config.threading.get_inter_op_parallelism_threads()}
