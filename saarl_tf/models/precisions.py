"""Which floating-point format the networks compute in.

  float32         everything in float32 (the paper's setting).
  mixed_bfloat16  convolutions and dense layers compute in bfloat16; variables, the
                  optimizers' slots, logits, values, masks and losses stay float32, so
                  checkpoints are the same either way. Faster where the CPU
                  computes bfloat16 natively (docs/BENCHMARK.md); elsewhere it is
                  emulated and slower.
  auto            mixed_bfloat16 where the hardware computes bfloat16 natively
                  (x86 AVX512-BF16 or AMX that oneDNN may use, or a GPU of compute
                  capability 8.0 or later), float32 elsewhere.
"""

import os
from typing import Mapping, Optional, Sequence, Tuple

from saarl_tf import provenance
from saarl_tf.config import PRECISIONS

# TensorFlow is imported inside the functions that need it (the benchmark imports this
# module before its flags are parsed).

# The x86 values of oneDNN's cap on its instructions (`provenance.ONEDNN_ISA_VARIABLE`)
# from the least capable up, as oneDNN's documentation lists them; ALL and DEFAULT cap
# nothing.
ONEDNN_ISAS = ('SSE41', 'AVX', 'AVX2', 'AVX2_VNNI', 'AVX2_VNNI_2', 'AVX512_CORE',
               'AVX512_CORE_VNNI', 'AVX512_CORE_BF16', 'AVX512_CORE_FP16',
               'AVX512_CORE_AMX', 'AVX512_CORE_AMX_FP16')
# Each native bfloat16 unit: its /proc/cpuinfo flag and the least ISA that uses it.
_BFLOAT16_UNITS = (('avx512_bf16', 'AVX512_CORE_BF16'), ('amx_bf16', 'AVX512_CORE_AMX'))


def cpu_bfloat16_units(cpu_flags: Optional[Sequence[str]] = None,
                       environ: Optional[Mapping[str, str]] = None) -> Tuple[str, ...]:
  """The CPU's native bfloat16 units that oneDNN computes with: those of
  'avx512_bf16' and 'amx_bf16' among its flags that `ONEDNN_MAX_CPU_ISA` allows.

  Args:
    cpu_flags: the CPU's feature flags; None reads this machine's.
    environ: the process's environment; None reads `os.environ`.

  Raises:
    ValueError: `ONEDNN_MAX_CPU_ISA` is set to a value oneDNN does not know.
  """
  flags = provenance.cpu_flags() if cpu_flags is None else cpu_flags
  variable = provenance.ONEDNN_ISA_VARIABLE
  cap = (os.environ if environ is None else environ).get(variable, 'ALL').upper()
  if cap in ('ALL', 'DEFAULT'):
    allowed = len(ONEDNN_ISAS)
  elif cap in ONEDNN_ISAS:
    allowed = ONEDNN_ISAS.index(cap) + 1
  else:
    raise ValueError(f'unknown {variable}={cap!r}; expected ALL, DEFAULT or one of '
                     f'{", ".join(ONEDNN_ISAS)}')
  return tuple(flag for flag, isa in _BFLOAT16_UNITS
               if flag in flags and ONEDNN_ISAS.index(isa) < allowed)


def hardware_has_bfloat16() -> bool:
  """Whether the device TensorFlow will compute on has native bfloat16 arithmetic."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  gpus = tf.config.list_physical_devices('GPU')
  if gpus:
    capability = tf.config.experimental.get_device_details(gpus[0]).get(
        'compute_capability', (0, 0))
    return tuple(capability) >= (8, 0)
  return bool(cpu_bfloat16_units())


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
