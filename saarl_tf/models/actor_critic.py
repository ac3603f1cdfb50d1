"""The actor-critic, with an optional attention mask on its last conv feature map.

As in the authors' code (docs/ARCHITECTURE.md): conv 32 k8 s4 -> conv 64 k4 s2 ->
conv 32 k3 s1, each with a ReLU, gives f(x) of shape [7, 7, 32]; the attention mask
Psi(x) of shape [7, 7] multiplies it, and everything after is the usual head:
dense 512 -> policy logits and a scalar value,

  pi(a | Psi(x) f(x)),   V(Psi(x) f(x))                 (mask_mode 'multiply'),
  pi(a | (1 + Psi(x)) f(x)),   V((1 + Psi(x)) f(x))     (mask_mode 'residual').

'multiply' is the paper's text; 'residual' is the default of the authors' code for a
pre-trained mask (their `config.py`): the mask can only amplify features, never
remove them. Without a mask (the `baseline` variant) the network is the same minus
the product.
"""

from typing import Optional

import tensorflow as tf
from tf_agents.networks import network

from saarl_tf import config as config_lib
from saarl_tf.models import attention
from saarl_tf.models import geometry
from saarl_tf.models import precisions


class ActorCriticNetwork(network.Network):
  """uint8 observations [B, 84, 84, C] -> (logits float32 [B, A], value float32 [B]).

  `call` returns `((logits, value), network_state)` with an empty state, as tf-agents
  networks do. The attention module, when given, is a sub-module: its variables are
  among this network's, and the agent decides which of them the RL loss may update.
  """

  def __init__(self,
               input_tensor_spec,
               num_actions: int,
               attention_module: Optional[attention.SelfSupervisedAttention] = None,
               hidden_units: int = 512,
               precision: str = 'float32',
               mask_mode: str = config_lib.MASK_MODES[0],
               name: str = 'ActorCriticNetwork'):
    """Builds the layers.

    Args:
      input_tensor_spec: `TensorSpec` of one observation, uint8 [84, 84, C].
      num_actions: size of the discrete action set.
      attention_module: if given, Psi(x) multiplies the third conv feature map.
      hidden_units: width of the dense layer after the convs.
      precision: 'float32', or 'mixed_bfloat16' to run the convs and the dense layer
        in bfloat16 (variables, logits and value stay float32); see `precisions`.
      mask_mode: 'multiply' (Psi f) or 'residual' ((1 + Psi) f); module docstring.
      name: the network's name.
    """
    if mask_mode not in config_lib.MASK_MODES:
      raise ValueError(f'unknown mask_mode {mask_mode!r}; expected one of '
                       f'{config_lib.MASK_MODES}')
    super().__init__(input_tensor_spec=input_tensor_spec, state_spec=(), name=name)
    self._mask_mode = mask_mode
    self._num_actions = num_actions
    self._attention = attention_module
    trunk_policy = precisions.layer_policy(precision)
    self._trunk_dtype = tf.as_dtype(trunk_policy.compute_dtype)
    # Orthogonal init as in the authors' code (pytorch-a2c-ppo-acktr) and baselines:
    # ReLU gain for the trunk, 0.01 for the policy so that it starts near uniform.
    # One initializer per layer (attention.relu_orthogonal), drawn from the global
    # seed (`tf.keras.utils.set_random_seed`).
    self._convs = [
        tf.keras.layers.Conv2D(filters, kernel, stride, activation='relu',
                               kernel_initializer=attention.relu_orthogonal(),
                               dtype=trunk_policy, name=f'conv{i}')
        for i, (filters, kernel, stride) in enumerate(geometry.CONV_LAYERS)]
    self._flatten = tf.keras.layers.Flatten()
    self._hidden = tf.keras.layers.Dense(
        hidden_units, activation='relu', kernel_initializer=attention.relu_orthogonal(),
        dtype=trunk_policy, name='hidden')
    self._logits = tf.keras.layers.Dense(
        num_actions, kernel_initializer=tf.keras.initializers.Orthogonal(0.01),
        dtype='float32', name='logits')
    self._value = tf.keras.layers.Dense(
        1, kernel_initializer=tf.keras.initializers.Orthogonal(1.0), dtype='float32',
        name='value')

  @property
  def attention_module(self) -> Optional[attention.SelfSupervisedAttention]:
    return self._attention

  @property
  def num_actions(self) -> int:
    return self._num_actions

  def features(self, observations: tf.Tensor, mask: Optional[tf.Tensor] = None):
    """f(x), or Psi(x) f(x) (or (1 + Psi(x)) f(x), `mask_mode`) when a mask is given.

    Args:
      observations: uint8 [B, 84, 84, C].
      mask: float32 [B, 7, 7] in [0, 1], or None.

    Returns:
      [B, 7, 7, 32], in the network's compute dtype (float32 or bfloat16).
    """
    # uint8 -> compute dtype once; 0..255/255 is exact enough in bfloat16's 8 bits.
    x = tf.cast(observations, self._trunk_dtype) / 255.0
    for conv in self._convs:
      x = conv(x)
    if mask is not None:
      scale = mask if self._mask_mode == config_lib.MULTIPLY else 1.0 + mask
      x = x * tf.cast(scale, x.dtype)[..., None]
    return x

  def heads(self, features: tf.Tensor):
    """(logits float32 [B, A], value float32 [B]) from feature maps [B, 7, 7, 32]."""
    hidden = self._hidden(self._flatten(features))
    return self._logits(hidden), tf.squeeze(self._value(hidden), axis=-1)

  def mask(self, observations: tf.Tensor) -> Optional[tf.Tensor]:
    """Psi(x), float32 [B, 7, 7], or None for a network without attention."""
    if self._attention is None:
      return None
    return self._attention.mask(observations)

  def forward(self, observations: tf.Tensor, mask: Optional[tf.Tensor] = None):
    """Logits, value and the mask (if any) of observations with any outer dims.

    Args:
      observations: uint8 [..., 84, 84, C], e.g. [B, ...] or [B, T, ...].
      mask: float32 [..., 7, 7], Psi(observations) if already known (a frozen mask
        computed while acting); None computes it (networks with attention).

    Returns:
      (logits float32 [..., A], value float32 [...], mask float32 [..., 7, 7] or
      None without attention).
    """
    outer = tf.shape(observations)[:-3]
    flat = tf.reshape(observations, tf.concat([[-1], tf.shape(observations)[-3:]], 0))
    if mask is None:
      mask = self.mask(flat)
    else:
      mask = tf.reshape(mask, [-1, geometry.MASK_SIZE, geometry.MASK_SIZE])
    logits, value = self.heads(self.features(flat, mask))
    logits = tf.reshape(logits, tf.concat([outer, [self._num_actions]], 0))
    value = tf.reshape(value, outer)
    if mask is not None:
      mask = tf.reshape(mask, tf.concat([outer, tf.shape(mask)[1:]], 0))
    return logits, value, mask

  def call(self, observations, step_type=None, network_state=(), training=False):
    """Policy logits and state value of a batch of observations.

    Args:
      observations: uint8 [B, 84, 84, C] (or with extra outer dims [B, T, ...]).
      step_type, network_state, training: the tf-agents `Network` interface; unused.

    Returns:
      ((logits float32 [B, A], value float32 [B]), ()), with the same outer dims
      as `observations`.
    """
    del step_type, training
    logits, value, _ = self.forward(observations)
    return (logits, value), network_state
