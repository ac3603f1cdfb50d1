"""Shared test set-up: quiet TensorFlow's C++ logging before it is imported."""

import os

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')


import pytest  # pylint: disable=g-import-not-at-top,wrong-import-position


@pytest.fixture(scope='session')
def pretrained_mask_dir(tmp_path_factory) -> str:
  """One briefly pre-trained attention module's checkpoint directory for the whole
  session (tests only read it)."""
  from a2c_helpers import pretrained_mask_dir as make  # pylint: disable=g-import-not-at-top
  return make(tmp_path_factory.mktemp('mask'))
