"""Mixed bfloat16: same variables as float32, float32 outputs, close values."""

import numpy as np
import pytest
import tensorflow as tf

from saarl_tf.models import actor_critic
from saarl_tf.models import attention
from saarl_tf.models import precisions

OBSERVATION_SPEC = tf.TensorSpec([84, 84, 4], tf.uint8)


def _observations(batch, seed):
  return tf.cast(tf.random.stateless_uniform([batch, 84, 84, 4], [seed, 0],
                                             maxval=256, dtype=tf.int32), tf.uint8)


def _network(precision):
  tf.keras.utils.set_random_seed(0)
  network = actor_critic.ActorCriticNetwork(
      OBSERVATION_SPEC, 4, precision=precision,
      attention_module=attention.SelfSupervisedAttention(precision=precision))
  network.create_variables()
  network.attention_module.create_variables()
  return network


def test_unknown_precision_is_one_clear_line():
  with pytest.raises(ValueError, match=r"unknown precision 'fp8'.*'float32'") as error:
    precisions.resolve('fp8')
  assert '\n' not in str(error.value)


def test_bfloat16_units_are_those_of_the_cpu_that_onednn_s_isa_cap_allows():
  amx_cpu = ('avx2', 'avx512f', 'avx512_bf16', 'amx_bf16')
  both = ('avx512_bf16', 'amx_bf16')
  assert precisions.cpu_bfloat16_units(amx_cpu, {}) == both
  assert precisions.cpu_bfloat16_units(amx_cpu, {'ONEDNN_MAX_CPU_ISA': 'all'}) == both
  assert precisions.cpu_bfloat16_units(
      amx_cpu, {'ONEDNN_MAX_CPU_ISA': 'AVX512_CORE_BF16'}) == ('avx512_bf16',)
  # An AVX2-only CPU's kernels, on this one: no native bfloat16, so `auto` is float32.
  assert precisions.cpu_bfloat16_units(amx_cpu, {'ONEDNN_MAX_CPU_ISA': 'AVX2'}) == ()
  assert precisions.cpu_bfloat16_units(('avx2', 'avx512f'), {}) == ()


def test_an_unknown_onednn_isa_cap_is_one_clear_line():
  with pytest.raises(ValueError, match=r"ONEDNN_MAX_CPU_ISA='AVX9'.*AVX2,") as error:
    precisions.cpu_bfloat16_units(('avx512_bf16',), {'ONEDNN_MAX_CPU_ISA': 'avx9'})
  assert '\n' not in str(error.value)


def test_auto_follows_the_hardware():
  expected = 'mixed_bfloat16' if precisions.hardware_has_bfloat16() else 'float32'
  assert precisions.resolve('auto') == expected
  assert precisions.resolve('float32') == 'float32'


def test_mixed_bfloat16_keeps_float32_variables_and_outputs_close_to_float32():
  full, mixed = _network('float32'), _network('mixed_bfloat16')
  # Same names, shapes and dtypes: checkpoints move between precisions.
  assert ([(v.name, v.shape, v.dtype) for v in full.variables]
          == [(v.name, v.shape, v.dtype) for v in mixed.variables])
  assert all(v.dtype == tf.float32 for v in mixed.variables)
  for source, target in zip(full.variables, mixed.variables):
    target.assign(source)

  observations = _observations(8, 1)
  full_logits, full_value, full_mask = full.forward(observations)
  logits, value, mask = mixed.forward(observations)
  assert logits.dtype == value.dtype == mask.dtype == tf.float32
  # bfloat16 keeps 8 significant bits: agreement to ~1% of the outputs' scale.
  np.testing.assert_allclose(mask, full_mask, atol=0.02)
  np.testing.assert_allclose(value, full_value,
                             atol=0.03 * float(tf.reduce_max(tf.abs(full_value))))
  np.testing.assert_allclose(logits, full_logits,
                             atol=0.03 * float(tf.reduce_max(tf.abs(full_logits))))

  frames = attention.preprocess_frames(observations)
  pair = (frames[:4], frames[4:])
  full_loss = attention.mask_loss(pair[1], full.attention_module(pair), 0.01, 1e-3)
  loss = attention.mask_loss(pair[1], mixed.attention_module(pair), 0.01, 1e-3)
  assert loss['total'].dtype == tf.float32
  np.testing.assert_allclose(loss['total'], full_loss['total'], rtol=0.02)


def test_mixed_bfloat16_gradients_reach_every_variable():
  network = _network('mixed_bfloat16')
  observations = _observations(4, 2)
  frames = attention.preprocess_frames(observations)
  with tf.GradientTape() as tape:
    logits, value, _ = network.forward(observations)
    outputs = network.attention_module((frames[:2], frames[2:]))
    loss = (tf.reduce_sum(logits) + tf.reduce_sum(value)
            + attention.mask_loss(frames[2:], outputs, 0.01, 1e-3)['total'])
  gradients = tape.gradient(loss, network.trainable_variables)
  missing = [v.name for v, g in zip(network.trainable_variables, gradients)
             if g is None or not np.all(np.isfinite(g))]
  assert not missing
  assert all(g.dtype == tf.float32 for g in gradients)
