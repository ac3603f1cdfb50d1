"""Which floating-point format the networks compute in.

  float32         everything in float32 (the paper's setting).
  mixed_bfloat16  convolutions and dense layers compute in bfloat16; variables, the
                  optimizers' slots, logits, values, masks and losses stay float32, so
                  checkpoints are the same either way. Faster where the CPU
                  computes bfloat16 natively (README, Benchmark); elsewhere it is
                  emulated and slower.
  auto            mixed_bfloat16 where the hardware computes bfloat16 natively
                  (x86 AVX512-BF16 or AMX, or a GPU of compute capability 8.0 or
                  later), float32 elsewhere.
"""

from saarl_tf import provenance
from saarl_tf.config import PRECISIONS

# TensorFlow is imported inside the functions that need it (the benchmark imports this
# module before its flags are parsed).
_CPU_BF16_FLAGS = ('avx512_bf16', 'amx_bf16')


def hardware_has_bfloat16() -> bool:
  """Whether the device TensorFlow will compute on has native bfloat16 arithmetic."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  gpus = tf.config.list_physical_devices('GPU')
  if gpus:
    capability = tf.config.experimental.get_device_details(gpus[0]).get(
        'compute_capability', (0, 0))
    return tuple(capability) >= (8, 0)
  return any(flag in provenance.cpu_flags() for flag in _CPU_BF16_FLAGS)


def resolve(precision: str) -> str:
  """'float32' or 'mixed_bfloat16' for a `PRECISIONS` value.

  Raises:
    ValueError: an unknown precision.
  """
  if precision not in PRECISIONS:
    raise ValueError(f'unknown precision {precision!r}; expected one of {PRECISIONS}')
  if precision == 'auto':
    return 'mixed_bfloat16' if hardware_has_bfloat16() else 'float32'
  return precision


def layer_policy(precision: str) -> 'tf.keras.mixed_precision.Policy':
  """The Keras dtype policy for the compute-heavy layers at `precision`."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  return tf.keras.mixed_precision.Policy(resolve(precision))


def onednn_enabled() -> bool:
  """Whether TensorFlow computes with its oneDNN kernels (TF_ENABLE_ONEDNN_OPTS, or
  TensorFlow's default for this CPU)."""
  from tensorflow.python.util import _pywrap_util_port  # pylint: disable=g-import-not-at-top
  return bool(_pywrap_util_port.IsMklEnabled())
