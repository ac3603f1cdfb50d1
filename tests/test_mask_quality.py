"""Mask quality against ground truth: object recall, mass on objects, mask mean."""

import numpy as np

from saarl_tf.evaluation import mask_quality


def test_mask_quality_on_hand_made_masks():
  masks = np.zeros((2, 7, 7))
  masks[0, 0, 0] = 1.0          # covers the object at pixel (5, 5)
  masks[0, 6, 6] = 0.4          # below 0.5: the object at (80, 80) is missed
  masks[1, 3, 3] = 1.0          # off-object mass in frame 1
  centres = np.array([[[5.0, 5.0], [80.0, 80.0]],
                      [[5.0, 5.0], [np.nan, np.nan]]])
  pixels = np.zeros((2, 84, 84), bool)
  pixels[:, 3:8, 3:8] = True
  pixels[0, 78:83, 78:83] = True
  quality = mask_quality.mask_quality(masks, centres, pixels)
  assert quality['num_objects'] == 3 and quality['num_frames'] == 2
  np.testing.assert_allclose(quality['object_recall'], 1 / 3)
  np.testing.assert_allclose(quality['mass_on_objects'], 1.4 / 2.4)
  np.testing.assert_allclose(quality['mask_mean'], 2.4 / 98)
  np.testing.assert_allclose(quality['object_cell_fraction'], 3 / 98)


def test_recall_per_kind_of_object_says_which_objects_the_mask_hides():
  masks = np.zeros((2, 7, 7))
  masks[:, 0, :] = 0.9          # the top row of cells: the targets
  masks[:, 6, 0] = 0.1          # the player's cell, nearly hidden
  centres = np.array([[[5.0, 5.0], [5.0, 40.0], [80.0, 5.0]],
                      [[5.0, 70.0], [80.0, 5.0], [np.nan, np.nan]]])
  categories = np.array([['Duck', 'Duck', 'Player'], ['Owl', 'Player', '']])
  pixels = np.zeros((2, 84, 84), bool)
  quality = mask_quality.mask_quality(masks, centres, pixels, categories=categories)
  kinds = quality['by_category']
  assert sorted(kinds) == ['Duck', 'Owl', 'Player']
  assert kinds['Duck'] == {'object_recall': 1.0, 'mask_at_objects': 0.9,
                           'num_objects': 2}
  assert kinds['Player']['object_recall'] == 0.0
  np.testing.assert_allclose(kinds['Player']['mask_at_objects'], 0.1)
  assert kinds['Player']['num_objects'] == 2
  # The kinds split the objects: their counts and recalls add up to the whole.
  assert sum(k['num_objects'] for k in kinds.values()) == quality['num_objects']
  np.testing.assert_allclose(
      sum(k['object_recall'] * k['num_objects'] for k in kinds.values()),
      quality['object_recall'] * quality['num_objects'])
  assert 'by_category' not in mask_quality.mask_quality(masks, centres, pixels)
