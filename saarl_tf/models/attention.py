"""The self-supervised attention module (paper, "Method: Self-Supervised Attention").

An auto-encoder with a bottleneck in the attention mask: the target frame x_t is
reconstructed from features that take the background from a source frame x_s of the
same game play and only the masked (foreground) features from x_t,

  Phi^(x_s, x_t) = (1 - Psi(x_s)) (1 - Psi(x_t)) Phi(x_s) + Psi(x_t) Phi(x_t),

and the mask pays an L1 price, so it must select the regions that change: the objects.

Shapes (defaults, as in the authors' code; docs/ARCHITECTURE.md): frames are 84x84
with one channel in [0, 1]; Phi is [7, 7, 32]; Psi is [7, 7] in [0, 1], the size of
the actor-critic's last conv feature map, which the mask multiplies.

Initialisation is the authors' (their `model.py`): every conv and transposed conv of
Phi, of Psi's encoder and of the decoder (its last conv included) is orthogonal with
the ReLU gain sqrt(2), Psi's 1x1 output conv orthogonal with gain 1, biases 0, and
Psi's layer normalisations use PyTorch's epsilon 1e-5. It decides whether the mask
learns at all: with Keras' default (Glorot) init, Phi's features start much smaller
and L_mask alone collapses the mask to zero (docs/ARCHITECTURE.md, "Measured design
choices").
"""

from typing import Dict, NamedTuple, Optional, Tuple

import numpy as np
import tensorflow as tf

from saarl_tf.models import precisions
from saarl_tf.models.geometry import CONV_LAYERS, FRAME_SIZE

FEATURE_DEPTH = CONV_LAYERS[-1][0]
RELU_GAIN = 2 ** 0.5           # torch.nn.init.calculate_gain('relu')
LAYER_NORM_EPSILON = 1e-5      # torch.nn.LayerNorm's default (Keras': 1e-3)


def relu_orthogonal() -> tf.keras.initializers.Initializer:
  """A new orthogonal initializer with the ReLU gain, for one layer.

  One instance per layer: Keras 2.15 gives identical values when an unseeded
  initializer instance is called twice with the same shape (Phi's and Psi's convs
  have the same shapes).
  """
  return tf.keras.initializers.Orthogonal(RELU_GAIN)


class TransposedOrthogonal(tf.keras.initializers.Initializer):
  """PyTorch's orthogonal init of a transposed conv, for its sub-pixel form.

  `torch.nn.init.orthogonal_` on a `ConvTranspose2d` weight [C_in, F, k, k] makes the
  C_in rows of the [C_in, F k k] matrix orthonormal (times `gain`). The sub-pixel form
  (`SubPixelConvTranspose`) holds the same C_in * F k k numbers as a 2x2 conv kernel
  [2, 2, C_in, s s F], one-to-one; a fixed reordering of the columns keeps the rows
  orthonormal and the distribution unchanged, so this draws the [C_in, 4 s s F]
  matrix and lays it out as that kernel.
  """

  def __init__(self, gain: float = RELU_GAIN):
    self.gain = gain

  def __call__(self, shape, dtype=None, **kwargs):
    """shape [2, 2, C_in, C_out] -> a kernel of that shape whose C_in slices are orthonormal."""
    height, width, in_channels, out_channels = shape
    columns = tf.keras.initializers.Orthogonal(self.gain)(
        [height * width * out_channels, in_channels], dtype=dtype)
    rows = tf.reshape(tf.transpose(columns), [in_channels, height, width, out_channels])
    return tf.transpose(rows, [1, 2, 0, 3])

  def get_config(self):
    return {'gain': self.gain}


def preprocess_frames(observations: tf.Tensor) -> tf.Tensor:
  """The attention module's input: the newest frame of each stack, in [0, 1].

  Args:
    observations: uint8 [B, 84, 84, C] stacked frames, newest frame last (C >= 1).

  Returns:
    float32 [B, 84, 84, 1].
  """
  return tf.cast(observations[..., -1:], tf.float32) / 255.0


class LayerNormalization(tf.keras.layers.LayerNormalization):
  """Keras' layer normalisation over [H, W, C], computed in float32 with plain ops.

  The same weights (gamma, beta of shape [H, W, C]), names and config as the Keras
  layer it subclasses, so checkpoints and exports load either way; only `call`
  differs. Keras 2.15 reshapes the batch into one fused batch-norm call and builds
  gamma/beta around it; here the mean, the centred variance and the affine map are
  three element-wise passes, which is faster on CPU (docs/ARCHITECTURE.md). Equal to
  the Keras layer within float32 rounding (tests/test_attention).
  """

  def call(self, inputs):
    """inputs: [B, H, W, C] in the compute dtype -> the same shape and dtype."""
    x = tf.cast(inputs, tf.float32)
    mean = tf.reduce_mean(x, axis=self.axis, keepdims=True)
    centred = x - mean
    variance = tf.reduce_mean(tf.square(centred), axis=self.axis, keepdims=True)
    scale = tf.math.rsqrt(variance + self.epsilon)
    outputs = centred * scale * tf.cast(self.gamma, tf.float32) + tf.cast(
        self.beta, tf.float32)
    return tf.cast(outputs, inputs.dtype)


def _conv_stack(name: str, layer_norm: bool, dtype) -> tf.keras.Sequential:
  layers = []
  for i, (filters, kernel, stride) in enumerate(CONV_LAYERS):
    layers.append(tf.keras.layers.Conv2D(
        filters, kernel, stride, padding='valid', name=f'conv{i}',
        activation=None if layer_norm else 'relu',
        kernel_initializer=relu_orthogonal(), dtype=dtype))
    if layer_norm:
      layers.append(LayerNormalization(
          axis=[1, 2, 3], epsilon=LAYER_NORM_EPSILON, name=f'norm{i}', dtype=dtype))
      layers.append(tf.keras.layers.ReLU(name=f'relu{i}', dtype=dtype))
  return tf.keras.Sequential(layers, name=name)


class Encoder(tf.keras.Model):
  """Phi: float32 frames [B, 84, 84, 1] -> features [B, 7, 7, 32], >= 0.

  Features are in the compute dtype of `dtype` (a Keras dtype policy; float32 by
  default, bfloat16 under 'mixed_bfloat16').
  """

  def __init__(self, name: str = 'encoder', dtype=None):
    super().__init__(name=name)
    self.convs = _conv_stack('convs', layer_norm=False, dtype=dtype)

  def call(self, frames: tf.Tensor) -> tf.Tensor:
    return self.convs(frames)


class MaskGenerator(tf.keras.Model):
  """Psi: float32 frames [B, 84, 84, 1] -> mask float32 [B, 7, 7] in [0, 1]."""

  def __init__(self, name: str = 'mask_generator', dtype=None):
    super().__init__(name=name)
    self.convs = _conv_stack('convs', layer_norm=True, dtype=dtype)
    # The mask itself stays float32 whatever the convs compute in.
    self.to_mask = tf.keras.layers.Conv2D(
        1, 1, activation='sigmoid', dtype='float32', name='to_mask',
        kernel_initializer=tf.keras.initializers.Orthogonal(1.0))

  def call(self, frames: tf.Tensor) -> tf.Tensor:
    return tf.squeeze(self.to_mask(self.convs(frames)), axis=-1)


# SubPixelConvTranspose's two forms of the same map.
SUB_PIXEL_FORM = 'sub_pixel'
TRANSPOSED_FORM = 'transposed'


def upsampling_form(compute_dtype: str) -> str:
  """The faster form of `SubPixelConvTranspose`: the sub-pixel convolution in
  bfloat16, TensorFlow's transposed convolution in float32 (docs/ARCHITECTURE.md has
  both measurements)."""
  return SUB_PIXEL_FORM if compute_dtype == 'bfloat16' else TRANSPOSED_FORM


class SubPixelConvTranspose(tf.keras.layers.Layer):
  """A transposed convolution with kernel = 2 x stride, held as a sub-pixel conv.

  Each output pixel of a transposed conv (kernel k = 2s, stride s, 'valid') depends on
  a 2x2 window of inputs, with weights that depend on its phase (position mod s). A
  2x2 conv to s*s*filters channels followed by `depth_to_space(s)` computes exactly
  that family of maps, with the same output size ((n - 1) s + k); its kernel is the
  layer's variable. The layer computes either that sub-pixel form or TensorFlow's
  transposed convolution with the same numbers laid out as its [2s, 2s, filters, C]
  kernel (`upsampling_form` picks the faster one for the precision). The bias has one
  value per phase and filter, as the sub-pixel conv's. An element-wise activation
  commutes with `depth_to_space` (a permutation): in bfloat16 it is applied before,
  where it fuses into the convolution, in float32 after; either way the result is the
  same, bit for bit.
  """

  def __init__(self, filters: int, kernel_size: int, strides: int,
               activation=None, form: Optional[str] = None, **kwargs):
    """`form`: SUB_PIXEL_FORM or TRANSPOSED_FORM; None: `upsampling_form`'s."""
    super().__init__(**kwargs)
    if kernel_size != 2 * strides:
      raise ValueError(f'SubPixelConvTranspose needs kernel_size == 2 * strides, '
                       f'got kernel_size={kernel_size}, strides={strides}')
    if form not in (None, SUB_PIXEL_FORM, TRANSPOSED_FORM):
      raise ValueError(f'unknown SubPixelConvTranspose form {form!r}; expected '
                       f'{SUB_PIXEL_FORM!r} or {TRANSPOSED_FORM!r}')
    self.form = form or upsampling_form(self.compute_dtype)
    self.filters = filters
    self.strides = strides
    self.conv = tf.keras.layers.Conv2D(filters * strides * strides, 2, name='conv',
                                       kernel_initializer=TransposedOrthogonal(),
                                       dtype=self.dtype_policy)
    self.activation = tf.keras.activations.get(activation)

  def build(self, input_shape):
    with tf.name_scope(self.conv.name):   # its weights' names as when called
      self.conv.build(tf.TensorShape(input_shape))
    super().build(input_shape)

  def call(self, inputs: tf.Tensor) -> tf.Tensor:
    """[B, H, W, C] -> [B, (H + 1) s, (W + 1) s, filters], in the compute dtype."""
    if self.form == TRANSPOSED_FORM:
      return self.activation(self._transposed(inputs))
    padded = tf.pad(inputs, [[0, 0], [1, 1], [1, 1], [0, 0]])
    if self.compute_dtype == 'bfloat16':
      return tf.nn.depth_to_space(self.activation(self.conv(padded)), self.strides)
    return self.activation(tf.nn.depth_to_space(self.conv(padded), self.strides))

  def _transposed(self, inputs: tf.Tensor) -> tf.Tensor:
    """The same map as `conv2d_transpose`, before the activation."""
    s, f = self.strides, self.filters
    _, height, width, depth = inputs.shape
    # Sub-pixel kernel [tap_r, tap_c, C, phase_r, phase_c, F] -> transposed kernel
    # [row, col, F, C], row = phase_r + s (1 - tap_r) (the taps run backwards).
    kernel = tf.reshape(tf.cast(self.conv.kernel, inputs.dtype), [2, 2, depth, s, s, f])
    kernel = tf.transpose(tf.reverse(kernel, [0, 1]), [0, 3, 1, 4, 5, 2])
    kernel = tf.reshape(kernel, [2 * s, 2 * s, f, depth])
    outputs = tf.nn.conv2d_transpose(
        inputs, kernel, [tf.shape(inputs)[0], (height + 1) * s, (width + 1) * s, f], s,
        'VALID')
    # The per-phase bias as an s x s tile repeated over the output.
    bias = tf.nn.depth_to_space(
        tf.reshape(tf.cast(self.conv.bias, inputs.dtype), [1, 1, 1, s * s * f]), s)
    return outputs + tf.tile(bias, [1, height + 1, width + 1, 1])


# ConvToOneChannel's two forms of the same map.
CONV_FORM = 'conv'
DEPTHWISE_SUM_FORM = 'depthwise_sum'


def one_channel_conv_form(compute_dtype: str, bfloat16_units=None) -> str:
  """The faster form of `ConvToOneChannel` here: TensorFlow's one-output-channel conv
  in bfloat16 on a CPU with AMX tiles (oneDNN's bfloat16 convolutions run on them
  whatever the channel count), the depthwise conv summed over channels elsewhere,
  AVX512-BF16 without AMX included (docs/ARCHITECTURE.md has both measurements).

  Args:
    compute_dtype: the layer's compute dtype, 'float32' or 'bfloat16'.
    bfloat16_units: the CPU's bfloat16 units oneDNN uses; None:
      `precisions.cpu_bfloat16_units()`.
  """
  if bfloat16_units is None:
    bfloat16_units = precisions.cpu_bfloat16_units()
  if compute_dtype == 'bfloat16' and 'amx_bf16' in bfloat16_units:
    return CONV_FORM
  return DEPTHWISE_SUM_FORM


class ConvToOneChannel(tf.keras.layers.Layer):
  """A 'same' k x k conv to one channel: `Conv2D(1, k, padding='same')`'s map.

  Its kernel is a depthwise kernel [k, k, C, 1], which is also a conv filter to one
  channel, so the layer computes either a depthwise conv summed over channels or that
  conv itself (`one_channel_conv_form` picks the faster one for this machine); the
  variables are the same either way.
  """

  def __init__(self, kernel_size: int, form: Optional[str] = None, **kwargs):
    """`form`: CONV_FORM or DEPTHWISE_SUM_FORM; None: `one_channel_conv_form`'s."""
    super().__init__(**kwargs)
    if form not in (None, CONV_FORM, DEPTHWISE_SUM_FORM):
      raise ValueError(f'unknown ConvToOneChannel form {form!r}; expected '
                       f'{CONV_FORM!r} or {DEPTHWISE_SUM_FORM!r}')
    self.form = form or one_channel_conv_form(self.compute_dtype)
    # Keras flattens a depthwise kernel [k, k, C, 1] to one column of k k C numbers,
    # as PyTorch flattens the Conv2d(C, 1, k) weight to one row: the same init.
    self.depthwise = tf.keras.layers.DepthwiseConv2D(
        kernel_size, padding='same', use_bias=False, name='depthwise',
        depthwise_initializer=relu_orthogonal(), dtype=self.dtype_policy)

  def build(self, input_shape):
    with tf.name_scope(self.depthwise.name):   # its weight's name as when called
      self.depthwise.build(input_shape)
    self.bias = self.add_weight('bias', [1], initializer='zeros')
    super().build(input_shape)

  def call(self, inputs: tf.Tensor) -> tf.Tensor:
    """[B, H, W, C] -> [B, H, W, 1], in the compute dtype."""
    if self.form == CONV_FORM:
      kernel = tf.cast(self.depthwise.depthwise_kernel, inputs.dtype)
      return tf.nn.conv2d(inputs, kernel, 1, 'SAME') + tf.cast(self.bias,
                                                                 inputs.dtype)
    return tf.reduce_sum(self.depthwise(inputs), axis=-1, keepdims=True) + self.bias


class Decoder(tf.keras.Model):
  """Features [B, 7, 7, 32] -> frame float32 [B, 84, 84, 1] (unbounded)."""

  def __init__(self, name: str = 'decoder', dtype=None):
    super().__init__(name=name)
    # Mirrors the encoder: 7 -> 9 -> 20 -> 84, then a 3x3 conv to one channel.
    self.deconvs = tf.keras.Sequential([
        tf.keras.layers.Conv2DTranspose(64, 3, 1, activation='relu', name='deconv0',
                                        kernel_initializer=relu_orthogonal(),
                                        dtype=dtype),
        tf.keras.layers.Conv2DTranspose(32, 4, 2, activation='relu', name='deconv1',
                                        kernel_initializer=relu_orthogonal(),
                                        dtype=dtype),
        SubPixelConvTranspose(16, 8, 4, activation='relu', name='deconv2',
                              dtype=dtype),
        ConvToOneChannel(3, name='to_frame', dtype=dtype),
    ], name='deconvs')

  def call(self, features: tf.Tensor) -> tf.Tensor:
    # Frames and losses are float32 whatever the decoder computes in.
    return tf.cast(self.deconvs(features), tf.float32)


class AttentionOutputs(NamedTuple):
  """What `SelfSupervisedAttention` computes for a batch of B pairs.

  reconstruction: x^_t from the mixed features, float32 [B, 84, 84, 1].
  auto_reconstruction: x^auto_t from Phi(x_t) alone, float32 [B, 84, 84, 1].
  source_mask, target_mask: Psi(x_s), Psi(x_t), float32 [B, 7, 7] in [0, 1].
  """
  reconstruction: tf.Tensor
  auto_reconstruction: tf.Tensor
  source_mask: tf.Tensor
  target_mask: tf.Tensor


class SelfSupervisedAttention(tf.keras.Model):
  """Encoder, mask generator and decoder, trained on frame pairs with `mask_loss`."""

  def __init__(self, name: str = 'self_supervised_attention',
               precision: str = 'float32'):
    """Builds the three nets; `precision` as in `precisions.PRECISIONS`."""
    super().__init__(name=name)
    policy = precisions.layer_policy(precision)
    self.encoder = Encoder(dtype=policy)
    self.mask_generator = MaskGenerator(dtype=policy)
    self.decoder = Decoder(dtype=policy)

  def create_variables(self):
    """Builds encoder, mask generator and decoder by running one blank pair."""
    frame = tf.zeros([1, FRAME_SIZE, FRAME_SIZE, 1])
    self((frame, frame))

  def mask(self, observations: tf.Tensor) -> tf.Tensor:
    """Psi of raw observations.

    Args:
      observations: uint8 [B, 84, 84, C] stacked frames, newest frame last.

    Returns:
      float32 [B, 7, 7] in [0, 1].
    """
    return self.mask_generator(preprocess_frames(observations))

  def call(self, pair: Tuple[tf.Tensor, tf.Tensor]) -> AttentionOutputs:
    """Reconstructs x_t from (x_s, x_t).

    Args:
      pair: (x_s, x_t), each float32 [B, 84, 84, 1] in [0, 1] (`preprocess_frames`).

    Returns:
      `AttentionOutputs`.
    """
    source, target = pair
    # Only the target branch learns from the mixed reconstruction (authors' code):
    # the source branch runs on its own behind stop_gradient, so that no backward
    # pass is computed for it (one pass over both halves backpropagated zeros through
    # the source half).
    source_features = tf.stop_gradient(self.encoder(source))
    source_mask = tf.stop_gradient(self.mask_generator(source))
    target_features = self.encoder(target)
    target_mask = self.mask_generator(target)
    dtype = target_features.dtype
    keep_source = tf.cast((1.0 - source_mask) * (1.0 - target_mask), dtype)
    mixed = (keep_source[..., None] * source_features
             + tf.cast(target_mask, dtype)[..., None] * target_features)
    reconstructions = self.decoder(tf.concat([mixed, target_features], axis=0))
    reconstruction, auto_reconstruction = tf.split(reconstructions, 2, axis=0)
    return AttentionOutputs(reconstruction, auto_reconstruction, source_mask,
                            target_mask)


def thresholded_squared_error(prediction: tf.Tensor, target: tf.Tensor,
                              delta: float) -> tf.Tensor:
  """||prediction - target||^2_{2*}: squared errors below delta count as 0.

  Args:
    prediction, target: float32 [B, H, W, C], pixels in [0, 1].
    delta: threshold on each pixel's squared error.

  Returns:
    float32 scalar: the kept squared errors, averaged over all B*H*W*C pixels.
  """
  squared = tf.square(prediction - target)
  return tf.reduce_mean(tf.where(squared >= delta, squared, 0.0))


def mask_loss(target: tf.Tensor, outputs: AttentionOutputs, delta: float,
              sparsity_weight: float) -> Dict[str, tf.Tensor]:
  """L_mask = ||x^_t - x_t||^2_{2*} + ||x^auto_t - x_t||^2 + lambda_m ||Psi(x_t)||_1.

  Args:
    target: x_t, float32 [B, 84, 84, 1] in [0, 1].
    outputs: `SelfSupervisedAttention` outputs for the pairs.
    delta: threshold of the first term (paper's delta), on squared pixel errors.
    sparsity_weight: lambda_m.

  Returns:
    float32 scalars: 'reconstruction' (thresholded), 'auto_reconstruction',
    'sparsity' (the mask's mean, before weighting) and 'total'. Means over pixels
    and mask cells, so the loss does not grow with the batch or frame size.
  """
  reconstruction = thresholded_squared_error(outputs.reconstruction, target, delta)
  auto_reconstruction = tf.reduce_mean(
      tf.square(outputs.auto_reconstruction - target))
  sparsity = tf.reduce_mean(outputs.target_mask)
  total = reconstruction + auto_reconstruction + sparsity_weight * sparsity
  return {'reconstruction': reconstruction,
          'auto_reconstruction': auto_reconstruction,
          'sparsity': sparsity,
          'total': total}


def masks_of(model: SelfSupervisedAttention, observations: np.ndarray,
             batch_size: int = 256) -> np.ndarray:
  """Psi of many observations, float32 [F, 7, 7], in batches.

  Args:
    observations: uint8 [F, 84, 84, C] (the newest channel is used).
  """
  # One traced function per model, kept on it, not one per call. Set past Keras'
  # attribute tracking, so that no checkpoint or SavedModel holds it.
  mask_fn = model.__dict__.get('_masks_of_function')
  if mask_fn is None:
    mask_fn = tf.function(model.mask, reduce_retracing=True)
    object.__setattr__(model, '_masks_of_function', mask_fn)
  return np.concatenate([
      mask_fn(tf.constant(observations[i:i + batch_size])).numpy()
      for i in range(0, len(observations), batch_size)])


def restore_attention(checkpoint_dir: str,
                      model: Optional[SelfSupervisedAttention] = None
                      ) -> SelfSupervisedAttention:
  """Loads the attention module's weights from a pre-training checkpoint directory.

  Raises:
    FileNotFoundError: no checkpoint in `checkpoint_dir`.
  """
  latest = tf.train.latest_checkpoint(checkpoint_dir)
  if latest is None:
    raise FileNotFoundError(f'No attention checkpoint in {checkpoint_dir!r}: '
                            'expected the checkpoints/ folder of a mask pre-training run')
  model = model or SelfSupervisedAttention()
  model.create_variables()
  tf.train.Checkpoint(model=model).read(latest).expect_partial()
  return model
