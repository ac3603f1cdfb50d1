"""Object keypoints read off an attention mask by non-maximum suppression.

The paper's "Bottom-up Object Extraction": every mask cell is a candidate object
centre; the mask is smoothed with a fixed 3x3 Gaussian (sigma 0.5, centre weight 1, as
the authors' code), cells that are not the maximum of their (2r+1)x(2r+1)
neighbourhood are suppressed, and the strongest k remain, or, since a mask is not tied
to a fixed number of objects, every peak above a threshold. Keypoints come back in
input-pixel coordinates: a cell maps to the centre of its receptive field
(`mask_metrics.cell_centres`).
"""

from typing import NamedTuple, Optional

import numpy as np
import tensorflow as tf

from saarl_tf import mask_metrics


class Keypoints(NamedTuple):
  """K keypoints per frame, strongest first; unused slots are NaN with score -inf.

  positions: float32 [B, K, 2], (row, col) in input pixels.
  scores: float32 [B, K], the smoothed mask value at each keypoint.
  valid: bool [B, K].
  """
  positions: np.ndarray
  scores: np.ndarray
  valid: np.ndarray


def _gaussian_3x3(sigma: float = 0.5) -> tf.Tensor:
  offsets = np.array([-1.0, 0.0, 1.0])
  weights = np.exp(-(offsets[:, None] ** 2 + offsets[None, :] ** 2) / (2 * sigma**2))
  return tf.constant(weights[:, :, None, None], tf.float32)   # centre weight 1


def peak_map(masks, radius: int = 1, smooth: bool = True) -> tf.Tensor:
  """The NMS survivors' scores: float32 [B, m, m], -inf where suppressed.

  Args:
    masks: float [B, m, m] in [0, 1].
    radius: a cell survives only if it is the maximum of the (2 radius + 1)^2 cells
      around it (0 keeps every cell).
    smooth: smooth with the fixed 3x3 Gaussian first.
  """
  if radius < 0:
    raise ValueError(f'radius must be >= 0, got {radius}')
  values = tf.convert_to_tensor(masks, tf.float32)[..., None]
  if smooth:
    values = tf.nn.conv2d(values, _gaussian_3x3(), 1, 'SAME')
  window = 2 * radius + 1
  neighbourhood_max = tf.nn.max_pool2d(values, window, 1, 'SAME')
  # Empty cells (0) are never objects, even when all their neighbours are empty too.
  peaks = tf.where((values >= neighbourhood_max) & (values > 0), values, -np.inf)
  return peaks[..., 0]


def keypoints_from_masks(masks, k: Optional[int] = None,
                         threshold: Optional[float] = None, radius: int = 1,
                         smooth: bool = True) -> Keypoints:
  """Keypoints of each mask: the top k peaks, or every peak above a threshold.

  Args:
    masks: float [B, m, m] in [0, 1] (a 7x7 mask over an 84x84 frame by default).
    k: keep the k strongest peaks; None keeps all that pass `threshold`.
    threshold: drop peaks whose (smoothed) value is below it; None keeps all.
    radius: NMS neighbourhood radius in cells.
    smooth: smooth with the fixed 3x3 Gaussian first.

  Returns:
    `Keypoints` with K = k, or K = m * m when k is None.

  Raises:
    ValueError: neither k nor threshold given, or k < 1.
  """
  if k is None and threshold is None:
    raise ValueError('give k (top-k keypoints) or threshold (every peak above it)')
  if k is not None and k < 1:
    raise ValueError(f'k must be >= 1, got {k}')
  peaks = peak_map(masks, radius, smooth)
  size = int(peaks.shape[-1])
  flat = tf.reshape(peaks, [tf.shape(peaks)[0], size * size])
  scores, indices = tf.math.top_k(flat, k=min(k or size * size, size * size))
  scores, indices = scores.numpy(), indices.numpy()
  valid = np.isfinite(scores)
  if threshold is not None:
    valid &= scores >= threshold
  centres = mask_metrics.cell_centres(size)
  positions = np.stack([centres[indices // size], centres[indices % size]], axis=-1)
  positions = np.where(valid[..., None], positions, np.nan).astype(np.float32)
  scores = np.where(valid, scores, -np.inf).astype(np.float32)
  if k is not None and k > size * size:   # pad to the K asked for
    pad = k - size * size
    positions = np.pad(positions, ((0, 0), (0, pad), (0, 0)), constant_values=np.nan)
    scores = np.pad(scores, ((0, 0), (0, pad)), constant_values=-np.inf)
    valid = np.pad(valid, ((0, 0), (0, pad)))
  return Keypoints(positions, scores, valid)
