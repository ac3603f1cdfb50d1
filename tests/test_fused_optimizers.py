"""The fused optimizers step as the Keras optimizers they replace."""

import numpy as np
import pytest
import tensorflow as tf

from saarl_tf.agents import fused_optimizers

SHAPES = ([3, 3, 2, 4], [4], [50, 7])


def _steps(optimizer, num_steps=12):
  """The variables after `num_steps` steps from a fixed start on fixed gradients,
  some large enough for the global-norm clip to act, inside a `tf.function` as the
  training loop runs them."""
  rng = np.random.RandomState(0)
  variables = [tf.Variable(rng.randn(*shape).astype(np.float32)) for shape in SHAPES]
  gradients = [[tf.constant(rng.randn(*shape).astype(np.float32) * scale)
                for shape in SHAPES] for scale in np.geomspace(1e-4, 10.0, num_steps)]

  @tf.function
  def step(grads):
    optimizer.apply_gradients(zip(grads, variables))

  for grads in gradients:
    step(grads)
  return [v.numpy() for v in variables], int(optimizer.iterations.numpy())


@pytest.mark.parametrize('make_keras, make_fused', [
    (lambda: tf.keras.optimizers.RMSprop(7e-4, rho=0.99, epsilon=1e-10,
                                         global_clipnorm=0.5),
     lambda: fused_optimizers.FusedRMSprop(7e-4, rho=0.99, epsilon=1e-10,
                                           global_clipnorm=0.5)),
    (lambda: tf.keras.optimizers.Adam(1e-3, global_clipnorm=0.5),
     lambda: fused_optimizers.FusedAdam(1e-3, global_clipnorm=0.5)),
], ids=['rmsprop', 'adam'])
def test_fused_step_equals_the_keras_step_within_float_rounding(make_keras, make_fused):
  start = _steps(tf.keras.optimizers.SGD(0.0))[0]
  (want, want_steps), (got, got_steps) = _steps(make_keras()), _steps(make_fused())
  assert got_steps == want_steps == 12
  for w, g, s in zip(want, got, start):
    moved = np.abs(w - s)
    assert np.min(moved) > 0                    # every weight stepped
    np.testing.assert_allclose(g, w, rtol=0, atol=1e-6 * max(1.0, np.max(moved)))


def test_fused_optimizers_refuse_what_their_kernels_do_not_compute():
  with pytest.raises(ValueError, match='momentum=0 and centered=False, got '
                     'momentum=0.9'):
    fused_optimizers.FusedRMSprop(1e-3, momentum=0.9)
  with pytest.raises(ValueError, match='amsgrad=False, got amsgrad=True'):
    fused_optimizers.FusedAdam(1e-3, amsgrad=True)
