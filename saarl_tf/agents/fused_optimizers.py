"""Keras RMSprop and Adam whose per-variable step is TensorFlow's fused kernel.

Keras 2.15's optimizers step each variable with about ten element-wise ops, each a
pass over the variable, which on a CPU (where Keras does not compile them with XLA)
makes the actor-critic's 1568 x 512 dense layer the slowest part of the step.
`ResourceApplyRMSProp` and `ResourceApplyAdam` make the same step in one pass
(docs/ARCHITECTURE.md). Everything else (learning rate, gradient clipping, slots,
checkpoints, `iterations`) is the Keras optimizer's.

Same maths as the Keras steps they replace: Adam's kernel computes Keras' expression
term for term; RMSprop's computes rho v + (1 - rho) g^2 as v + (g^2 - v)(1 - rho),
equal within float32 rounding (tests/test_fused_optimizers.py).
"""

import tensorflow as tf


class FusedRMSprop(tf.keras.optimizers.RMSprop):
  """`tf.keras.optimizers.RMSprop` (no momentum, not centred), one kernel per step.

  The kernel writes each step into a slot ('step', the kernel's momentum buffer,
  with momentum 0 a scratch value) before subtracting it.
  """

  def __init__(self, *args, **kwargs):
    super().__init__(*args, **kwargs)
    if self.momentum or self.centered:
      raise ValueError(f'FusedRMSprop takes momentum=0 and centered=False, got '
                       f'momentum={self.momentum}, centered={self.centered}')

  def build(self, var_list):
    """Keras' slots, then a 'step' slot per variable."""
    super().build(var_list)
    if getattr(self, '_steps_built', False):
      return
    self._steps_built = True
    self._steps = [self.add_variable_from_reference(variable, 'step')
                   for variable in var_list]

  def update_step(self, gradient, variable):
    """A gradient float32 [variable's shape] -> one in-place RMSprop step."""
    index = self._index_dict[self._var_key(variable)]
    tf.raw_ops.ResourceApplyRMSProp(
        var=variable.handle, ms=self._velocities[index].handle,
        mom=self._steps[index].handle,
        lr=tf.cast(self.learning_rate, variable.dtype),
        rho=tf.cast(self.rho, variable.dtype), momentum=tf.zeros([], variable.dtype),
        epsilon=tf.cast(self.epsilon, variable.dtype),
        grad=tf.convert_to_tensor(gradient))


class FusedAdam(tf.keras.optimizers.Adam):
  """`tf.keras.optimizers.Adam` (not AMSGrad), one kernel per step."""

  def __init__(self, *args, **kwargs):
    super().__init__(*args, **kwargs)
    if self.amsgrad:
      raise ValueError('FusedAdam takes amsgrad=False, got amsgrad=True')

  def update_step(self, gradient, variable):
    """A gradient float32 [variable's shape] -> one in-place Adam step."""
    index = self._index_dict[self._var_key(variable)]
    dtype = variable.dtype
    step = tf.cast(self.iterations + 1, dtype)
    tf.raw_ops.ResourceApplyAdam(
        var=variable.handle, m=self._momentums[index].handle,
        v=self._velocities[index].handle,
        beta1_power=tf.pow(tf.cast(self.beta_1, dtype), step),
        beta2_power=tf.pow(tf.cast(self.beta_2, dtype), step),
        lr=tf.cast(self.learning_rate, dtype), beta1=tf.cast(self.beta_1, dtype),
        beta2=tf.cast(self.beta_2, dtype), epsilon=tf.cast(self.epsilon, dtype),
        grad=tf.convert_to_tensor(gradient))
