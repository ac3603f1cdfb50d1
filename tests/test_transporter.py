"""Transporter (Kulkarni et al. 2019), the keypoint baseline (`models.transporter`)."""

import numpy as np
import tensorflow as tf

from saarl_tf.models import transporter


def test_keypoints_are_pixels_on_the_frame_and_the_reconstruction_is_a_frame():
  model = transporter.Transporter(num_keypoints=3)
  model.create_variables()
  frames = tf.random.uniform([2, 84, 84, 1], seed=0)
  outputs = model((frames, frames[::-1]))
  assert outputs.reconstruction.shape == (2, 84, 84, 1)
  assert outputs.source_keypoints.shape == (2, 3, 2)
  keypoints = outputs.target_keypoints.numpy()
  assert np.all(keypoints >= 0) and np.all(keypoints <= 84)


def test_a_keypoint_follows_a_bright_spot():
  # A keypoint net whose heatmap is the frame itself puts its keypoint on the spot.
  net = transporter.KeypointNet(num_keypoints=1)
  frame = np.zeros([1, 84, 84, 1], np.float32)
  frame[0, 60:62, 20:22] = 1.0
  net(tf.constant(frame))
  net.encoder = tf.keras.Sequential([tf.keras.layers.AveragePooling2D(2)])
  net.to_heatmaps = tf.keras.layers.Lambda(lambda x: 50.0 * x)
  keypoints, _ = net(tf.constant(frame))
  np.testing.assert_allclose(keypoints.numpy()[0, 0], [61.0, 21.0], atol=1.0)


def test_the_loss_is_zero_only_for_a_perfect_reconstruction():
  target = tf.random.uniform([2, 84, 84, 1], seed=1)
  perfect = transporter.TransporterOutputs(target, None, None)
  off = transporter.TransporterOutputs(target + 0.5, None, None)
  assert float(transporter.transporter_loss(target, perfect)) == 0.0
  np.testing.assert_allclose(float(transporter.transporter_loss(target, off)), 0.25,
                             rtol=1e-6)
