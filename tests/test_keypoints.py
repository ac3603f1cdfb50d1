"""Keypoints from masks by NMS, on hand-made masks."""

import numpy as np
import pytest

from saarl_tf.evaluation import keypoints

CENTRES = keypoints.cell_territory_centres(7)   # 10.5, 25.5, 33.5, ..., 57.5, 72.5


def _mask(*cells_and_values):
  mask = np.zeros((1, 7, 7), np.float32)
  for (row, col), value in cells_and_values:
    mask[0, row, col] = value
  return mask


def test_top_k_in_order_of_value_in_pixel_coordinates():
  mask = _mask(((1, 1), 0.6), ((5, 2), 0.9), ((3, 6), 0.75))
  points = keypoints.keypoints_from_masks(mask, k=3, smooth=False)
  np.testing.assert_allclose(points.scores[0], [0.9, 0.75, 0.6])
  np.testing.assert_allclose(points.positions[0], [[CENTRES[5], CENTRES[2]],
                                                   [CENTRES[3], CENTRES[6]],
                                                   [CENTRES[1], CENTRES[1]]])
  assert points.positions[0, 0].tolist() == [57.5, 33.5]
  assert CENTRES[0] == 10.5 and CENTRES[6] == 72.5


def test_suppression_radius_removes_weaker_neighbours_only_within_it():
  adjacent = _mask(((3, 3), 1.0), ((3, 4), 0.8))
  assert keypoints.keypoints_from_masks(adjacent, k=5, smooth=False).valid[0].sum() == 1
  assert keypoints.keypoints_from_masks(adjacent, k=5, radius=0,
                                        smooth=False).valid[0].sum() == 2
  two_apart = _mask(((3, 3), 1.0), ((3, 5), 0.7))
  radius_1 = keypoints.keypoints_from_masks(two_apart, k=5, radius=1, smooth=False)
  np.testing.assert_allclose(radius_1.scores[0][radius_1.valid[0]], [1.0, 0.7])
  radius_2 = keypoints.keypoints_from_masks(two_apart, k=5, radius=2, smooth=False)
  np.testing.assert_allclose(radius_2.scores[0][radius_2.valid[0]], [1.0])


def test_threshold_variant_keeps_every_peak_above_it():
  mask = _mask(((0, 0), 0.9), ((0, 6), 0.55), ((6, 0), 0.3), ((6, 6), 0.8))
  points = keypoints.keypoints_from_masks(mask, threshold=0.5, smooth=False)
  assert points.valid[0].sum() == 3
  np.testing.assert_allclose(points.scores[0][:3], [0.9, 0.8, 0.55])
  assert np.isnan(points.positions[0][3:]).all()
  assert np.isneginf(points.scores[0][3:]).all()


def test_smoothing_merges_a_blob_into_one_peak_at_its_centre():
  blob = _mask(((2, 2), 0.8), ((2, 3), 0.9), ((2, 4), 0.8))
  points = keypoints.keypoints_from_masks(blob, k=3, smooth=True)
  assert points.valid[0].sum() == 1
  np.testing.assert_allclose(points.positions[0, 0], [CENTRES[2], CENTRES[3]])
  # A peak between two cells lands between their centres, weighted by the mask.
  pair = keypoints.keypoints_from_masks(_mask(((3, 3), 0.6), ((3, 4), 0.2)), k=1,
                                        smooth=False)
  np.testing.assert_allclose(pair.positions[0, 0],
                             [CENTRES[3], 0.75 * CENTRES[3] + 0.25 * CENTRES[4]])
  # The Gaussian has centre weight 1: a lone cell keeps its value.
  alone = keypoints.keypoints_from_masks(_mask(((4, 4), 0.7)), k=1)
  assert alone.scores[0, 0] == pytest.approx(0.7, abs=1e-6)


def test_bad_arguments_fail_clearly():
  with pytest.raises(ValueError, match='give k'):
    keypoints.keypoints_from_masks(_mask(), smooth=False)
  with pytest.raises(ValueError, match='k must be >= 1'):
    keypoints.keypoints_from_masks(_mask(), k=0)
  with pytest.raises(ValueError, match='radius must be >= 0'):
    keypoints.keypoints_from_masks(_mask(), k=1, radius=-1)


def test_precision_and_recall_against_grown_boxes():
  boxes = np.array([[[10, 10, 20, 20], [50, 50, 60, 70], [np.nan] * 4]])
  positions = np.array([[[15, 15],     # inside box 0
                         [22, 15],     # 2 px below box 0: inside once grown by 4
                         [40, 40],     # nowhere
                         [np.nan, np.nan]]])
  result = keypoints.precision_recall(positions, boxes, margin=4)  # 22 < 20 + 4
  assert result['precision'] == pytest.approx(2 / 3)
  assert result['recall'] == pytest.approx(1 / 2)
  assert (result['num_keypoints'], result['num_objects']) == (3, 2)
  strict = keypoints.precision_recall(positions, boxes, margin=0)
  assert strict['precision'] == pytest.approx(1 / 3)
