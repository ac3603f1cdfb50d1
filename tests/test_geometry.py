"""Where the mask's cells lie: the conv stack's receptive-field geometry."""

import numpy as np

from saarl_tf.models import geometry


def test_cells_follow_the_conv_stacks_receptive_fields():
  # 8x8/4, 4x4/2, 3x3/1: receptive field 36 pixels, 8 pixels between cells.
  assert geometry.receptive_field_geometry() == (17.5, 8)
  np.testing.assert_allclose(geometry.cell_centres(7), 17.5 + 8 * np.arange(7))
  pixels = np.array([0, 17.5, 21.4, 21.6, 41.5, 65.5, 83.9])
  np.testing.assert_array_equal(geometry.pixel_to_cell(pixels, 7),
                                [0, 0, 0, 1, 3, 6, 6])
  # Every cell's own centre maps back to it.
  np.testing.assert_array_equal(
      geometry.pixel_to_cell(geometry.cell_centres(7), 7), np.arange(7))


def test_upsampled_masks_give_each_pixel_its_cells_value():
  masks = np.arange(2 * 49, dtype=np.float32).reshape(2, 7, 7)
  pixels = geometry.upsample_masks(masks)
  assert pixels.shape == (2, 84, 84)
  assert pixels[1, 17, 65] == masks[1, 0, 6]          # cell centres 17.5 and 65.5
  assert pixels[0, 22, 30] == masks[0, 1, 2]          # 21.6 -> cell 1, 29.5 -> 2
