"""How well an attention mask covers ground-truth objects.

The mask is a coarse grid (7x7 over an 84x84 frame) computed by a conv stack with
'valid' padding, so ground truth is compared at the mask's own resolution and in its
own geometry: mask cell i looks at (and, through the decoder, paints) the pixels of its
receptive field, centred on pixel `first_centre + i * stride` (17.5 + 8 i for the
authors' stack: cells 0..6 centre on pixels 17.5..65.5, not on a uniform 12-pixel grid).
A pixel belongs to the cell whose receptive field is centred nearest to it.
"""

from typing import Dict, Sequence, Tuple

import numpy as np

from saarl_tf.models.attention import CONV_LAYERS


def receptive_field_geometry(conv_layers: Sequence[Tuple[int, int, int]] = CONV_LAYERS
                             ) -> Tuple[float, int]:
  """(centre of cell 0's receptive field in input pixels, pixels between cells)."""
  size, stride = 1, 1
  for _, kernel, layer_stride in conv_layers:
    size += (kernel - 1) * stride
    stride *= layer_stride
  return (size - 1) / 2, stride


def pixel_to_cell(pixels: np.ndarray, mask_size: int,
                  conv_layers: Sequence[Tuple[int, int, int]] = CONV_LAYERS
                  ) -> np.ndarray:
  """Pixel coordinates (float, any shape) -> int index of the nearest-centred cell."""
  first_centre, stride = receptive_field_geometry(conv_layers)
  cells = np.round((np.asarray(pixels, np.float64) - first_centre) / stride)
  return np.clip(cells, 0, mask_size - 1).astype(np.int64)


def cell_centres(mask_size: int,
                 conv_layers: Sequence[Tuple[int, int, int]] = CONV_LAYERS) -> np.ndarray:
  """float [mask_size]: the pixel coordinate each cell's receptive field centres on."""
  first_centre, stride = receptive_field_geometry(conv_layers)
  return first_centre + stride * np.arange(mask_size)


def object_cells(object_pixels: np.ndarray, mask_size: int) -> np.ndarray:
  """bool [F, H, W] object pixels -> bool [F, m, m]: cells holding any of them."""
  f, h, w = object_pixels.shape
  rows = pixel_to_cell(np.arange(h), mask_size)
  cols = pixel_to_cell(np.arange(w), mask_size)
  cells = np.zeros((f, mask_size, mask_size), bool)
  np.logical_or.at(cells, (slice(None), rows[:, None], cols[None, :]), object_pixels)
  return cells


def mask_quality(masks: np.ndarray, centres: np.ndarray,
                 object_pixels: np.ndarray, on_threshold: float = 0.5
                 ) -> Dict[str, float]:
  """Object recall, mask mass on objects, and mask mean over a set of frames.

  Args:
    masks: float [F, m, m] in [0, 1], one mask per frame.
    centres: float [F, K, 2] object centres (row, col) in frame pixels; rows of NaN
      pad frames with fewer than K objects.
    object_pixels: bool [F, H, W], the union of the objects' pixels (or boxes).
    on_threshold: a centre is recalled when its cell's mask value is at least this.

  Returns:
    'object_recall': fraction of object centres whose cell has mask >= on_threshold;
    'mass_on_objects': fraction of the total mask mass in object cells;
    'mask_mean': mean mask value; 'object_cell_fraction': fraction of cells that are
    object cells (what mask_mean would be for a perfect binary mask);
    'num_frames' and 'num_objects' evaluated.
  """
  masks = np.asarray(masks, np.float64)
  f, m, _ = masks.shape
  valid = ~np.isnan(centres).any(axis=-1)                     # [F, K]
  frame_index = np.broadcast_to(np.arange(f)[:, None], valid.shape)[valid]
  rows = pixel_to_cell(centres[..., 0][valid], m)
  cols = pixel_to_cell(centres[..., 1][valid], m)
  recalled = masks[frame_index, rows, cols] >= on_threshold
  cells = object_cells(object_pixels, m)
  return {
      'object_recall': float(recalled.mean()) if recalled.size else float('nan'),
      'mass_on_objects': float((masks * cells).sum() / max(masks.sum(), 1e-12)),
      'mask_mean': float(masks.mean()),
      'object_cell_fraction': float(cells.mean()),
      'num_frames': int(f),
      'num_objects': int(valid.sum()),
  }
