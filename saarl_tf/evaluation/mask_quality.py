"""How well an attention mask covers ground-truth objects.

Ground truth is compared at the mask's own resolution and in its own geometry
(`models.geometry`: a pixel belongs to the cell whose receptive field is centred
nearest to it). `mask_quality_on` scores a model on held-out labelled frames of a game
(`envs.ground_truth`), the one scoring that pre-training, export and the protocols use.
"""

from typing import Any, Dict, Optional, Tuple

import numpy as np

from saarl_tf.envs import ground_truth
from saarl_tf.models import attention
from saarl_tf.models.geometry import pixel_to_cell


def object_cells(object_pixels: np.ndarray, mask_size: int) -> np.ndarray:
  """bool [F, H, W] object pixels -> bool [F, m, m]: cells holding any of them."""
  f, h, w = object_pixels.shape
  rows = pixel_to_cell(np.arange(h), mask_size)
  cols = pixel_to_cell(np.arange(w), mask_size)
  cells = np.zeros((f, mask_size, mask_size), bool)
  np.logical_or.at(cells, (slice(None), rows[:, None], cols[None, :]), object_pixels)
  return cells


def mask_quality(masks: np.ndarray, centres: np.ndarray,
                 object_pixels: np.ndarray, on_threshold: float = 0.5,
                 categories: Optional[np.ndarray] = None) -> Dict[str, Any]:
  """Object recall, mask mass on objects, and mask mean over a set of frames.

  Args:
    masks: float [F, m, m] in [0, 1], one mask per frame.
    centres: float [F, K, 2] object centres (row, col) in frame pixels; rows of NaN
      pad frames with fewer than K objects.
    object_pixels: bool [F, H, W], the union of the objects' pixels (or boxes).
    on_threshold: a centre is recalled when its cell's mask value is at least this.
    categories: str [F, K], each object's kind ('' pads), or None.

  Returns:
    'object_recall': fraction of object centres whose cell has mask >= on_threshold;
    'mass_on_objects': fraction of the total mask mass in object cells;
    'mask_mean': mean mask value; 'object_cell_fraction': fraction of cells that are
    object cells (what mask_mean would be for a perfect binary mask);
    'num_frames' and 'num_objects' evaluated; with `categories`, 'by_category':
    {kind: {'object_recall', 'mask_at_objects' (mean mask value in the cells of
    its centres), 'num_objects'}}, which objects the mask sees and which it hides.
  """
  masks = np.asarray(masks, np.float64)
  f, m, _ = masks.shape
  valid = ~np.isnan(centres).any(axis=-1)                     # [F, K]
  frame_index = np.broadcast_to(np.arange(f)[:, None], valid.shape)[valid]
  rows = pixel_to_cell(centres[..., 0][valid], m)
  cols = pixel_to_cell(centres[..., 1][valid], m)
  at_centres = masks[frame_index, rows, cols]
  recalled = at_centres >= on_threshold
  cells = object_cells(object_pixels, m)
  quality = {
      'object_recall': float(recalled.mean()) if recalled.size else float('nan'),
      'mass_on_objects': float((masks * cells).sum() / max(masks.sum(), 1e-12)),
      'mask_mean': float(masks.mean()),
      'object_cell_fraction': float(cells.mean()),
      'num_frames': int(f),
      'num_objects': int(valid.sum()),
  }
  if categories is not None:
    kinds = np.asarray(categories)[valid]
    quality['by_category'] = {
        str(kind): {'object_recall': float(recalled[kinds == kind].mean()),
                    'mask_at_objects': float(at_centres[kinds == kind].mean()),
                    'num_objects': int((kinds == kind).sum())}
        for kind in sorted(set(kinds.tolist()))}
  return quality


def mask_quality_on(model: attention.SelfSupervisedAttention, game: str,
                    num_frames: int, seed: int
                    ) -> Tuple[ground_truth.LabelledFrames, np.ndarray, Dict[str, Any]]:
  """(labelled frames, masks float32 [F, 7, 7], `mask_quality` dict) on `game`.

  Raises:
    ImportError, ValueError: no ground truth for the game (`ground_truth`).
  """
  labelled = ground_truth.labelled_frames(game, num_frames, seed)
  masks = attention.masks_of(model, labelled.observations)
  return labelled, masks, mask_quality(masks, labelled.centres,
                                       labelled.object_pixels,
                                       categories=labelled.categories)
