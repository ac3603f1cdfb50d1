"""Where the mask's cells lie in the frame: the conv stack's receptive-field geometry.

TensorFlow-free. The mask is a coarse grid (7x7 over an 84x84 frame) computed by a conv
stack with 'valid' padding: mask cell i looks at (and, through the decoder, paints)
the pixels of its receptive field, centred on pixel `first_centre + i * stride`
(17.5 + 8 i for the authors' stack: cells 0..6 centre on pixels 17.5..65.5, not on a
uniform 12-pixel grid). A pixel belongs to the cell whose receptive field is centred
nearest to it.
"""

from typing import Optional, Sequence, Tuple

import numpy as np

# The actor-critic's and the attention encoders' conv stack (filters, kernel, stride):
# 84 -> 20 -> 9 -> 7 pixels.
CONV_LAYERS = ((32, 8, 4), (64, 4, 2), (32, 3, 1))
FRAME_SIZE = 84
MASK_SIZE = 7
# Atari's full-colour screen, which the 84x84 frame is resized from (whole, no crop).
SCREEN_HEIGHT, SCREEN_WIDTH = 210, 160


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


def upsample_masks(masks: np.ndarray, height: int = FRAME_SIZE,
                   width: Optional[int] = None) -> np.ndarray:
  """float [B, m, m] masks -> float [B, height, width]: each pixel takes its cell's value.

  `height` x `width` is the 84x84 frame itself or the picture it was resized from
  (Atari's 210x160 screen): a pixel's centre is first mapped into the 84x84 frame
  (y -> (y + 0.5) * 84 / height - 0.5), then to the cell centred nearest to it.
  """
  masks = np.asarray(masks)
  width = width or height
  def cells(size):
    return pixel_to_cell((np.arange(size) + 0.5) * FRAME_SIZE / size - 0.5,
                         masks.shape[-1])
  return masks[:, cells(height)][:, :, cells(width)]
