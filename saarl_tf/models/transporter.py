"""Transporter (Kulkarni et al. 2019), the keypoint baseline of the paper's Figure 5.

As DeepMind published it (Kulkarni et al. 2019, appendix): a feature encoder Phi and a
keypoint network of the same shape (filters 16, 16, 32, 32; kernels 7, 3, 3, 3;
strides 1, 1, 2, 1; instance norm and ReLU after each conv), the latter ending in a 1x1
conv to K heat maps; a spatial softmax turns each into a keypoint (its expected
position) and a Gaussian map around it (std 0.1 of the frame); the target frame is
reconstructed by a refine net from transported features

  Phi^ = (1 - H_s)(1 - H_t) Phi(x_s) + H_t Phi(x_t),   H = sum of the K Gaussian maps,

with the source branch under stop-gradient, and an L2 loss.

Frames are float32 [B, 84, 84, 1] in [0, 1] (`attention.preprocess_frames`); feature
maps are [B, 42, 42, 32]; keypoints are (row, col) in input pixels.
"""

from typing import NamedTuple, Tuple

import tensorflow as tf

from saarl_tf.models import attention
from saarl_tf.models import geometry

ENCODER_LAYERS = ((16, 7, 1), (16, 3, 1), (32, 3, 2), (32, 3, 1))
FEATURE_STRIDE = 2
GAUSSIAN_STD = 0.1   # of the frame's extent


def _encoder(name: str) -> tf.keras.Sequential:
  layers = []
  for i, (filters, kernel, stride) in enumerate(ENCODER_LAYERS):
    layers += [tf.keras.layers.Conv2D(filters, kernel, stride, padding='same',
                                      name=f'conv{i}'),
               # One group per channel: instance normalisation.
               tf.keras.layers.GroupNormalization(groups=filters, name=f'norm{i}'),
               tf.keras.layers.ReLU(name=f'relu{i}')]
  return tf.keras.Sequential(layers, name=name)


class KeypointNet(tf.keras.Model):
  """Frames [B, 84, 84, 1] -> keypoints [B, K, 2] (pixels) and maps [B, 42, 42, K]."""

  def __init__(self, num_keypoints: int = 5, name: str = 'keypoint_net'):
    super().__init__(name=name)
    self.num_keypoints = num_keypoints
    self.encoder = _encoder('encoder')
    self.to_heatmaps = tf.keras.layers.Conv2D(num_keypoints, 1, name='to_heatmaps')

  def call(self, frames: tf.Tensor) -> Tuple[tf.Tensor, tf.Tensor]:
    logits = self.to_heatmaps(self.encoder(frames))           # [B, h, w, K]
    shape = tf.shape(logits)
    height, width = shape[1], shape[2]
    flat = tf.reshape(tf.transpose(logits, [0, 3, 1, 2]), [shape[0], self.num_keypoints,
                                                           height * width])
    weights = tf.reshape(tf.nn.softmax(flat, axis=-1),
                         [shape[0], self.num_keypoints, height, width])
    # Cell j of the stride-2 map is centred on input pixel 2 j + 0.5.
    rows = tf.cast(tf.range(height), tf.float32) * FEATURE_STRIDE + 0.5
    cols = tf.cast(tf.range(width), tf.float32) * FEATURE_STRIDE + 0.5
    keypoints = tf.stack([
        tf.einsum('bkhw,h->bk', weights, rows),
        tf.einsum('bkhw,w->bk', weights, cols)], axis=-1)     # [B, K, 2] pixels
    std = GAUSSIAN_STD * geometry.FRAME_SIZE
    row_term = tf.square(rows[None, None, :] - keypoints[..., :1])   # [B, K, h]
    col_term = tf.square(cols[None, None, :] - keypoints[..., 1:])   # [B, K, w]
    gaussians = tf.exp(-(row_term[..., :, None] + col_term[..., None, :])
                       / (2 * std**2))                        # [B, K, h, w]
    return keypoints, tf.transpose(gaussians, [0, 2, 3, 1])


class RefineNet(tf.keras.Model):
  """Transported features [B, 42, 42, 32] -> frame [B, 84, 84, 1]."""

  def __init__(self, name: str = 'refine_net'):
    super().__init__(name=name)
    block = lambda filters, i: [
        tf.keras.layers.Conv2D(filters, 3, padding='same', name=f'conv{i}'),
        tf.keras.layers.GroupNormalization(groups=filters, name=f'norm{i}'),
        tf.keras.layers.ReLU(name=f'relu{i}')]
    self.net = tf.keras.Sequential(
        block(32, 0) + block(32, 1)
        + [tf.keras.layers.UpSampling2D(FEATURE_STRIDE, interpolation='bilinear')]
        + block(16, 2) + [tf.keras.layers.Conv2D(1, 3, padding='same', name='out')],
        name='net')

  def call(self, features: tf.Tensor) -> tf.Tensor:
    return self.net(features)


class TransporterOutputs(NamedTuple):
  """reconstruction [B, 84, 84, 1]; source/target keypoints [B, K, 2] in pixels."""
  reconstruction: tf.Tensor
  source_keypoints: tf.Tensor
  target_keypoints: tf.Tensor


class Transporter(tf.keras.Model):
  """Feature encoder, keypoint net and refine net, trained on frame pairs."""

  def __init__(self, num_keypoints: int = 5, name: str = 'transporter'):
    super().__init__(name=name)
    self.encoder = _encoder('feature_encoder')
    self.keypoint_net = KeypointNet(num_keypoints)
    self.refine_net = RefineNet()

  def create_variables(self):
    frame = tf.zeros([1, geometry.FRAME_SIZE, geometry.FRAME_SIZE, 1])
    self((frame, frame))

  def keypoints(self, observations: tf.Tensor) -> tf.Tensor:
    """Keypoints of raw observations uint8 [B, 84, 84, C]: float32 [B, K, 2] pixels."""
    return self.keypoint_net(attention.preprocess_frames(observations))[0]

  def call(self, pair) -> TransporterOutputs:
    """Reconstructs x_t from (x_s, x_t), each float32 [B, 84, 84, 1] in [0, 1]."""
    source, target = pair
    both = tf.concat([source, target], axis=0)
    features = self.encoder(both)
    keypoints, gaussians = self.keypoint_net(both)
    source_features, target_features = tf.split(features, 2, axis=0)
    source_keypoints, target_keypoints = tf.split(keypoints, 2, axis=0)
    source_maps, target_maps = tf.split(gaussians, 2, axis=0)
    source_heat = tf.stop_gradient(tf.reduce_sum(source_maps, -1, keepdims=True))
    target_heat = tf.reduce_sum(target_maps, -1, keepdims=True)
    transported = ((1 - source_heat) * (1 - target_heat)
                   * tf.stop_gradient(source_features)
                   + target_heat * target_features)
    return TransporterOutputs(self.refine_net(transported), source_keypoints,
                              target_keypoints)


def transporter_loss(target: tf.Tensor, outputs: TransporterOutputs) -> tf.Tensor:
  """Mean squared reconstruction error of x_t, float32 scalar."""
  return tf.reduce_mean(tf.square(outputs.reconstruction - target))
