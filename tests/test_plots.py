"""Pictures people look at: overlays with a colour scale, labels and ground truth."""

import matplotlib
import numpy as np
from PIL import Image

from saarl_tf import plots


def test_the_overlay_colours_each_cell_by_its_mask_value_on_frame_and_screen():
  """A cell at 1 takes the colour scale's top colour, at 0 its bottom one, blended
  with the picture; on the 210x160 screen as on the 84x84 frame."""
  top = np.array(matplotlib.colormaps[plots.COLOURMAP](1.0)[:3], np.float32)
  bottom = np.array(matplotlib.colormaps[plots.COLOURMAP](0.0)[:3], np.float32)
  mask = np.zeros((1, 7, 7), np.float32)
  mask[0, 0, 0] = 1
  for height, width in ((84, 84), (210, 160)):
    frames = np.full((1, height, width, 1), 0.5, np.float32)
    out = plots.mask_overlay(frames, mask, scale=2)
    assert out.shape == (1, 2 * height, 2 * width, 3)
    np.testing.assert_allclose(out[0, 0, 0], 0.45 * 0.5 + 0.55 * top, atol=1e-6)
    np.testing.assert_allclose(out[0, -1, -1], 0.45 * 0.5 + 0.55 * bottom, atol=1e-6)


def test_labelled_pictures_carry_a_label_strip_and_a_colour_scale():
  pictures = np.zeros((2, 252, 252, 3), np.float32)
  out = plots.labelled_pictures(pictures, ['MsPacman, frame 1,000', 'second'],
                                multiple_of=16)
  assert out.dtype == np.uint8 and out.shape[0] == 2
  assert out.shape[1] % 16 == 0 and out.shape[1] >= 252 + 42
  assert out.shape[2] % 16 == 0 and out.shape[2] > 252
  scale = out[0, :252, 254:270]                       # the bar, 1 at the top
  top = np.array(matplotlib.colormaps[plots.COLOURMAP](1.0)[:3]) * 255
  np.testing.assert_allclose(scale[0].mean(axis=0), top, atol=2)
  assert scale[0].mean() > scale[-1].mean()
  assert out[0, 252:].max() > 200                     # the label's white text
  assert not np.array_equal(out[0, 252:], out[1, 252:])   # each its own label
  bare = plots.labelled_pictures(pictures, ['x', 'y'], colour_scale=False)
  assert bare.shape[2] == 252


def test_the_overlay_figure_shows_ground_truth_boxes_and_a_colour_bar(tmp_path):
  observations = np.zeros((4, 84, 84, 4), np.uint8)
  masks = np.full((4, 7, 7), 0.2, np.float32)
  boxes = np.full((4, 1, 4), np.nan, np.float32)
  boxes[:, 0] = (10, 10, 30, 30)
  with_boxes, without = str(tmp_path / 'boxes.png'), str(tmp_path / 'plain.png')
  plots.overlay_png(observations, masks, with_boxes, boxes=boxes, title='Test')
  plots.overlay_png(observations, masks, without, title='Test')
  boxed, plain = (np.asarray(Image.open(path).convert('RGB'), np.int32)
                  for path in (with_boxes, without))
  # Lime box edges (0, 255, 0) appear only in the figure with boxes.
  lime = lambda image: ((image[..., 1] > 200) & (image[..., 0] < 80)
                        & (image[..., 2] < 80)).sum()
  assert lime(boxed) > 50 and lime(plain) == 0
