"""How well an attention mask covers ground-truth objects.

The mask is a coarse grid (7x7 cells over an 84x84 frame, 12x12 pixels a cell), so
ground truth is compared at the mask's own resolution: an object centre falls in one
cell, and a cell is an object cell when any object pixel lies in it.
"""

from typing import Dict

import numpy as np


def pixel_to_cell(pixels: np.ndarray, frame_size: int, mask_size: int) -> np.ndarray:
  """Pixel coordinates (any float, any shape) -> int cell indices of the mask grid."""
  cells = np.floor(np.asarray(pixels) * mask_size / frame_size).astype(np.int64)
  return np.clip(cells, 0, mask_size - 1)


def object_cells(object_pixels: np.ndarray, mask_size: int) -> np.ndarray:
  """bool [F, H, W] object pixels -> bool [F, m, m]: cells holding any of them."""
  f, h, w = object_pixels.shape
  rows = pixel_to_cell(np.arange(h), h, mask_size)
  cols = pixel_to_cell(np.arange(w), w, mask_size)
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
  h, w = object_pixels.shape[1:]
  valid = ~np.isnan(centres).any(axis=-1)                     # [F, K]
  frame_index = np.broadcast_to(np.arange(f)[:, None], valid.shape)[valid]
  rows = pixel_to_cell(centres[..., 0][valid], h, m)
  cols = pixel_to_cell(centres[..., 1][valid], w, m)
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
