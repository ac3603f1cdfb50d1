"""Object keypoints read off an attention mask by non-maximum suppression.

The paper's "Bottom-up Object Extraction": every mask cell is a candidate object
centre; the mask is smoothed with a fixed 3x3 Gaussian (sigma 0.5, centre weight 1, as
the authors' code), cells that are not the maximum of their (2r+1)x(2r+1)
neighbourhood are suppressed, and the strongest k remain, or, since a mask is not tied
to a fixed number of objects, every peak above a threshold. Keypoints come back in
input-pixel coordinates: each peak is placed at the mask-weighted mean, over its 3x3
neighbourhood, of the centres of the pixel regions the cells stand for
(`cell_territory_centres`), which localises objects between and at the edge of cells
better than the bare cell centre.
"""

from typing import NamedTuple, Optional

import numpy as np
import tensorflow as tf

from saarl_tf.models import geometry


def _refined_positions(masks: np.ndarray, rows: np.ndarray, cols: np.ndarray
                       ) -> np.ndarray:
  """Mask-weighted mean territory centre over each peak's 3x3 cells: [B, K, 2]."""
  size = masks.shape[-1]
  centres = cell_territory_centres(size)
  batch = np.arange(len(masks))[:, None]
  weight_sum = np.zeros(rows.shape)
  row_sum, col_sum = np.zeros(rows.shape), np.zeros(rows.shape)
  for dr in (-1, 0, 1):
    for dc in (-1, 0, 1):
      r, c = rows + dr, cols + dc
      inside = (r >= 0) & (r < size) & (c >= 0) & (c < size)
      r, c = np.clip(r, 0, size - 1), np.clip(c, 0, size - 1)
      weight = np.where(inside, masks[batch, r, c], 0.0)
      weight_sum += weight
      row_sum += weight * centres[r]
      col_sum += weight * centres[c]
  with np.errstate(invalid='ignore', divide='ignore'):
    refined = np.stack([row_sum / weight_sum, col_sum / weight_sum], axis=-1)
  fallback = np.stack([centres[rows], centres[cols]], axis=-1)
  return np.where(weight_sum[..., None] > 0, refined, fallback)


class Keypoints(NamedTuple):
  """K keypoints per frame, strongest first; unused slots are NaN with score -inf.

  positions: float32 [B, K, 2], (row, col) in input pixels.
  scores: float32 [B, K], the smoothed mask value at each keypoint.
  valid: bool [B, K].
  """
  positions: np.ndarray
  scores: np.ndarray
  valid: np.ndarray


def cell_territory_centres(mask_size: int, frame_size: int = 84) -> np.ndarray:
  """float [mask_size]: the mean pixel coordinate of the pixels each cell stands for.

  Pixels belong to the cell whose receptive field is centred nearest
  (`geometry.pixel_to_cell`); the edge cells also stand for the frame's border.
  """
  cells = geometry.pixel_to_cell(np.arange(frame_size), mask_size)
  return np.array([np.arange(frame_size)[cells == i].mean() for i in range(mask_size)])


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
  positions = _refined_positions(np.asarray(masks, np.float64), indices // size,
                                 indices % size)
  positions = np.where(valid[..., None], positions, np.nan).astype(np.float32)
  scores = np.where(valid, scores, -np.inf).astype(np.float32)
  if k is not None and k > size * size:   # pad to the K asked for
    pad = k - size * size
    positions = np.pad(positions, ((0, 0), (0, pad), (0, 0)), constant_values=np.nan)
    scores = np.pad(scores, ((0, 0), (0, pad)), constant_values=-np.inf)
    valid = np.pad(valid, ((0, 0), (0, pad)))
  return Keypoints(positions, scores, valid)


def precision_recall(positions: np.ndarray, boxes: np.ndarray, margin: float = 6.0
                     ) -> dict:
  """Keypoints against ground-truth object boxes.

  A keypoint is right when it falls inside some object's box grown by `margin`
  pixels on every side; an object is found when some keypoint falls inside its grown
  box.

  Args:
    positions: float [F, K, 2] (row, col) pixels; NaN rows are absent keypoints.
    boxes: float [F, O, 4] (top, left, bottom, right) pixels, bottom and right
      exclusive; NaN rows pad.
    margin: pixels added to every side of every box; the default, half a cell of a
      7x7 mask over 84 pixels, is the resolution a mask keypoint can have.

  Returns:
    'precision', 'recall' (floats; NaN when there is nothing to count),
    'num_keypoints', 'num_objects', 'num_frames'.
  """
  positions = np.asarray(positions, np.float64)
  boxes = np.asarray(boxes, np.float64)
  row, col = positions[:, :, None, 0], positions[:, :, None, 1]       # [F, K, 1]
  top, left = boxes[:, None, :, 0] - margin, boxes[:, None, :, 1] - margin
  bottom, right = boxes[:, None, :, 2] + margin, boxes[:, None, :, 3] + margin
  with np.errstate(invalid='ignore'):
    inside = (row >= top) & (row < bottom) & (col >= left) & (col < right)  # [F,K,O]
  present_keypoint = ~np.isnan(positions[..., 0])
  present_object = ~np.isnan(boxes[..., 0])
  inside &= present_keypoint[:, :, None] & present_object[:, None, :]
  num_keypoints, num_objects = int(present_keypoint.sum()), int(present_object.sum())
  right_keypoints = int(inside.any(axis=2).sum())
  found_objects = int(inside.any(axis=1).sum())
  return {'precision': right_keypoints / num_keypoints if num_keypoints else np.nan,
          'recall': found_objects / num_objects if num_objects else np.nan,
          'num_keypoints': num_keypoints, 'num_objects': num_objects,
          'num_frames': int(len(positions))}
