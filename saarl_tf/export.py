"""The frozen attention mask as a SavedModel that any TensorFlow agent can load.

An export holds only the mask generator Psi (the part an agent needs), with:

* `__call__` / signature `serving_default`: uint8 observations [B, 84, 84, C] (C >= 1
  stacked frames, newest last) -> float32 mask [B, 7, 7] in [0, 1];
* `resized` / signature `resized`: the same observations and an int32 size [2]
  -> the mask resized (antialiased bilinear) to [B, size[0], size[1]], for a
  network whose feature map is not 7x7;
* `variables` and an empty `trainable_variables`: the convention of reusable
  SavedModels for "load, do not fine-tune";
* `assets/mask_metadata.json`: the input format, the mask size, the games and frames
  it was trained on, its loss weights and the package version.

`MaskLayer(path)` wraps a loaded export as a frozen Keras layer. Loading needs only
TensorFlow: `tf.saved_model.load(path)(observations)` works without saarl_tf.
"""

import hashlib
import os
from typing import Any, Dict, Optional, Sequence, Union

import numpy as np
import tensorflow as tf

from saarl_tf import provenance
from saarl_tf import run_layout
from saarl_tf import storage
from saarl_tf.models import attention
from saarl_tf.models import geometry

METADATA_FILE = run_layout.EXPORT_METADATA_JSON
FORMAT = 'saarl_tf.attention_mask.v1'
INPUT_DESCRIPTION = (
    'uint8 [batch, 84, 84, C] stacked grayscale Atari frames, newest frame last, as '
    "ale-py's AtariVectorEnv emits them after transposing to NHWC (frame skip 4 with "
    'max-pooling of the last two frames, 84x84 INTER_AREA resize); only the newest '
    'frame is used, scaled to [0, 1]')


# tf.Module reserves `variables` as a read-only property; the reusable-SavedModel
# convention needs it as a saved attribute, so the root is tf.Module's own base.
class MaskModule(tf.__internal__.tracking.AutoTrackable):
  """What gets saved: the mask generator behind two tf.functions."""

  def __init__(self, mask_generator: attention.MaskGenerator, metadata_path: str):
    self.mask_generator = mask_generator
    self.metadata = tf.saved_model.Asset(metadata_path)
    self.variables = list(mask_generator.variables)
    self.trainable_variables = []     # frozen: consumers must not fine-tune it

  # No input_signature: the one traced function takes uint8 only, so that a float
  # array is refused rather than silently cast (a signature casts NumPy inputs).
  @tf.function
  def __call__(self, observations):
    """uint8 [B, 84, 84, C] -> float32 mask [B, 7, 7] in [0, 1]."""
    return self.mask_generator(attention.preprocess_frames(observations))

  @tf.function
  def resized(self, observations, size):
    """uint8 [B, 84, 84, C], int32 or int64 (height, width) -> float32
    [B, height, width]."""
    size = tf.cast(size, tf.int32)
    tf.debugging.assert_positive(
        size, message='mask size must be two positive integers (height, width)')
    tf.debugging.assert_less_equal(
        size, geometry.FRAME_SIZE,
        message=f'mask size must be at most {geometry.FRAME_SIZE} (the frame size)')
    mask = self(observations)[..., None]
    # Antialiased bilinear: averages cells when shrinking, interpolates when growing,
    # and (unlike 'area') has a gradient, which a host's GradientTape may ask for.
    resized = tf.image.resize(mask, size, method='bilinear', antialias=True)
    return tf.clip_by_value(resized[..., 0], 0.0, 1.0)

  # A signature does not check the shape it is called with: a 64x64 or channels-first
  # batch failed deep in the first LayerNorm ("Incompatible shapes: [2,15,15,32] vs.
  # [2,20,20,32]"). The shape is checked first, with a message naming both.
  @tf.function(input_signature=[
      tf.TensorSpec([None, geometry.FRAME_SIZE, geometry.FRAME_SIZE, None],
                    tf.uint8, name='observations')])
  def serving_default(self, observations):
    return {'mask': self(_checked_shape(observations))}

  @tf.function(input_signature=[
      tf.TensorSpec([None, geometry.FRAME_SIZE, geometry.FRAME_SIZE, None],
                    tf.uint8, name='observations'),
      tf.TensorSpec([2], tf.int32, name='size')])
  def resized_signature(self, observations, size):
    return {'mask': self.resized(_checked_shape(observations), size)}


def _checked_shape(observations: tf.Tensor) -> tf.Tensor:
  """`observations` (uint8 [B, 84, 84, C]) once its run-time shape is checked.

  Raises (when run):
    tf.errors.InvalidArgumentError: the shape is not [B, 84, 84, C], C >= 1, naming
      the shape it got.
  """
  shape = tf.shape(observations)
  frame = geometry.FRAME_SIZE
  # Padded so that an unbatched [84, 84, C] (which the signature lets through) is
  # refused by the same check rather than by an index error.
  dims = tf.concat([shape, tf.zeros([4], tf.int32)], 0)
  well_formed = tf.reduce_all([tf.size(shape) == 4, dims[1] == frame,
                               dims[2] == frame, dims[3] >= 1])
  with tf.control_dependencies([tf.debugging.Assert(well_formed, [
      f'observations must be uint8 [batch, {frame}, {frame}, C] (NHWC, newest frame '
      'last); got shape', shape], summarize=4)]):
    return tf.identity(observations)


OBSERVATIONS_SPEC = tf.TensorSpec([None, geometry.FRAME_SIZE, geometry.FRAME_SIZE, None],
                                  tf.uint8, name='observations')
SIZE_SPEC = tf.TensorSpec([2], tf.int32, name='size')


def _frozen_copy(mask_generator: attention.MaskGenerator) -> attention.MaskGenerator:
  """The mask generator with its variables made non-trainable, values copied.

  A restored variable keeps the `trainable` flag it was saved with; created under
  this scope, the export's variables are never watched by a consumer's GradientTape.
  """
  def non_trainable(next_creator, **kwargs):
    kwargs['trainable'] = False
    return next_creator(**kwargs)
  with tf.variable_creator_scope(non_trainable):
    # By name: a Policy object as an argument makes Keras warn at save (4 lines).
    copy = attention.MaskGenerator(
        dtype=mask_generator.convs.layers[0].dtype_policy.name)
    copy(tf.zeros([1, geometry.FRAME_SIZE, geometry.FRAME_SIZE, 1]))
  for target, source in zip(copy.variables, mask_generator.variables):
    target.assign(source)
  return copy


def export_mask(model: attention.SelfSupervisedAttention, export_dir: str,
                training: Optional[Dict[str, Any]] = None,
                quality: Optional[Dict[str, Any]] = None) -> str:
  """Saves the model's mask generator as a SavedModel in `export_dir`.

  Args:
    model: a (trained) attention module; the SavedModel computes in its precision
      (`export_from_checkpoint` builds a float32 one, which any device can run).
    export_dir: the SavedModel directory to write (replaced if it exists).
    training: what the mask was trained on (games, frames, loss weights), stored in
      the metadata.
    quality: mask quality scores (`mask_quality_of`), stored in the metadata.

  Returns:
    `export_dir`.
  """
  model.create_variables()
  metadata = {
      'format': FORMAT,
      'input': INPUT_DESCRIPTION,
      'input_shape': [None, geometry.FRAME_SIZE, geometry.FRAME_SIZE, None],
      'input_dtype': 'uint8',
      'mask_shape': [None, geometry.MASK_SIZE, geometry.MASK_SIZE],
      'mask_range': [0.0, 1.0],
      'receptive_field': dict(zip(('first_cell_centre_px', 'stride_px'),
                                  geometry.receptive_field_geometry())),
      'signatures': {'serving_default': 'observations -> mask',
                     'resized': 'observations, size [2] -> mask [B, h, w]'},
      'training': training or {},
      'quality': quality or {},
      'package_version': provenance.package_version(),
  }
  staging = export_dir.rstrip('/') + '.staging'
  tf.io.gfile.makedirs(staging)
  metadata_path = os.path.join(staging, METADATA_FILE)
  storage.write_json(metadata_path, metadata)
  module = MaskModule(_frozen_copy(model.mask_generator), metadata_path)
  # The only inputs the export accepts: uint8 stacks (and an int32 size).
  module.__call__.get_concrete_function(OBSERVATIONS_SPEC)
  module.resized.get_concrete_function(OBSERVATIONS_SPEC, SIZE_SPEC)
  # NumPy sizes are int64: traced too, so that np.array([11, 11]) finds a function.
  module.resized.get_concrete_function(OBSERVATIONS_SPEC,
                                       tf.TensorSpec([2], tf.int64, name='size'))
  saved = staging + '/model'
  tf.saved_model.save(module, saved, signatures={
      'serving_default': module.serving_default,
      'resized': module.resized_signature})
  # Written aside, then moved into place: a crash never leaves a half export.
  if tf.io.gfile.exists(export_dir):
    tf.io.gfile.rmtree(export_dir)
  tf.io.gfile.rename(saved, export_dir)
  tf.io.gfile.rmtree(staging)
  return export_dir


def load_attention(path: str,
                   model: Optional[attention.SelfSupervisedAttention] = None
                   ) -> attention.SelfSupervisedAttention:
  """An attention module whose mask generator is a pre-trained one.

  Args:
    path: a mask export (`export/universal_mask`) or a pre-training run's
      `checkpoints/` directory.
    model: the module to load into (built if needed); a new float32 one if None.

  Returns:
    `model`. From an export only the mask generator is loaded (an export holds
    nothing else): enough for a frozen mask, not for training it further.

  Raises:
    FileNotFoundError: `path` holds neither.
    ValueError: an export that is damaged (one line naming it), not a saarl_tf
      export, or whose variables do not fit the mask generator.
  """
  if not tf.io.gfile.exists(os.path.join(path, run_layout.SAVED_MODEL)):
    return attention.restore_attention(path, model)
  read_metadata(path)     # checks the format
  model = model or attention.SelfSupervisedAttention()
  model.create_variables()
  try:
    saved = tf.saved_model.load(path).variables
  except Exception as error:  # pylint: disable=broad-except
    # TensorFlow's message names no file and runs to many lines.
    reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
    raise ValueError(f'{path!r} is a damaged mask export: loading its SavedModel '
                     f'failed ({reason[:200]})') from None
  ours = model.mask_generator.variables
  if [tuple(v.shape) for v in saved] != [tuple(v.shape) for v in ours]:
    raise ValueError(f'{path!r}: the export\'s {len(saved)} variables do not fit the '
                     f'mask generator\'s {len(ours)}')
  for target, value in zip(ours, saved):
    target.assign(value)
  return model


def mask_digest(model: attention.SelfSupervisedAttention) -> str:
  """'sha256:<hex>' of the mask generator's variables: their shapes and float32
  values in order, so that a run's mask can be tied to a committed export
  (`load_attention(export)` gives the same digest as the run that used it)."""
  digest = hashlib.sha256()
  for variable in model.mask_generator.variables:
    value = np.ascontiguousarray(variable.numpy(), np.float32)
    digest.update(repr(value.shape).encode())
    digest.update(value.tobytes())
  return 'sha256:' + digest.hexdigest()


def read_metadata(export_dir: str) -> Dict[str, Any]:
  """The export's metadata JSON.

  Raises:
    ValueError: `export_dir` is not a saarl_tf mask export.
  """
  path = os.path.join(export_dir, run_layout.EXPORT_ASSETS_DIR, METADATA_FILE)
  if not (tf.io.gfile.exists(os.path.join(export_dir, run_layout.SAVED_MODEL))
          and tf.io.gfile.exists(path)):
    raise ValueError(f'{export_dir!r} is not a saarl_tf mask export: expected '
                     f'saved_model.pb and assets/{METADATA_FILE} in it')
  metadata = storage.read_json(path)
  if metadata.get('format') != FORMAT:
    raise ValueError(f'{export_dir!r} has mask format {metadata.get("format")!r}; '
                     f'expected {FORMAT!r}')
  return metadata


# Registered with Keras, so a model saved with it (.keras, .h5) loads back with
# `tf.keras.models.load_model(path)` once this module is imported.
@tf.keras.saving.register_keras_serializable(package='saarl_tf')
class MaskLayer(tf.keras.layers.Layer):
  """A frozen exported mask as a Keras layer: uint8 observations -> float32 mask.

  Output: [B, 7, 7], or [B, h, w] with `output_size=(h, w)`. The loaded SavedModel is
  held as a plain attribute, which Keras 2 does not track: its variables are not this
  layer's (trainable) weights, so no optimiser of the host model ever sees them.
  """

  def __init__(self, export_dir: str,
               output_size: Optional[Union[int, Sequence[int]]] = None,
               **kwargs):
    # Frozen whatever a saved config says (get_config records trainable=False, and
    # Keras' load_model passes it back).
    kwargs.pop('trainable', None)
    super().__init__(trainable=False, **kwargs)
    self.metadata = read_metadata(export_dir)
    if output_size is not None:
      sizes = (output_size,) * 2 if isinstance(output_size, int) else output_size
      try:
        sizes = tuple(int(size) for size in sizes)
      except (TypeError, ValueError):
        sizes = ()
      if len(sizes) != 2 or not all(1 <= size <= geometry.FRAME_SIZE
                                    for size in sizes):
        raise ValueError(f'output_size must be an int or (height, width), each in '
                         f'[1, {geometry.FRAME_SIZE}]; got {output_size!r}')
      output_size = sizes
    self.export_dir = export_dir
    self.output_size = output_size
    self._mask = tf.saved_model.load(export_dir)

  @property
  def mask_variables(self):
    """The export's variables (frozen), e.g. to check that they never change."""
    return list(self._mask.variables)

  # Python checks on static shapes only: nothing for AutoGraph to convert. A host's
  # tf.function (tf-agents' train step) converted it otherwise, and the converted
  # zero-argument super() then failed in a later Keras build ("KeyError:
  # '__class__'", seen in the full test suite).
  @tf.autograph.experimental.do_not_convert
  def __call__(self, observations, *args, **kwargs):
    # Checked before Keras' __call__, which would wrap the error in several lines.
    observations = tf.convert_to_tensor(observations)
    shape = observations.shape
    if observations.dtype != tf.uint8 or shape.rank != 4 or tuple(shape[1:3]) != (
        geometry.FRAME_SIZE, geometry.FRAME_SIZE):
      raise ValueError(
          f'MaskLayer expects uint8 observations [batch, {geometry.FRAME_SIZE}, '
          f'{geometry.FRAME_SIZE}, channels]; got {observations.dtype.name} '
          f'{shape.as_list() if shape.rank is not None else shape}')
    return super(MaskLayer, self).__call__(observations, *args, **kwargs)

  def call(self, observations):
    """uint8 [B, 84, 84, C] -> float32 [B, h, w] in [0, 1]."""
    if self.output_size is None:
      mask = self._mask(observations)
    else:
      mask = self._mask.resized(observations, tf.constant(self.output_size, tf.int32))
    return tf.stop_gradient(mask)   # frozen: the host's loss never reaches it

  def get_config(self):
    config = super().get_config()
    config.update(export_dir=self.export_dir,
                  output_size=(list(self.output_size) if self.output_size else None))
    return config
