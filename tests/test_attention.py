"""The self-supervised attention module, its loss, and the mask metrics."""

import numpy as np
import pytest
import tensorflow as tf

from saarl_tf.models import attention


def _frames(batch, seed):
  return tf.random.stateless_uniform([batch, 84, 84, 1], [seed, 0])


@pytest.fixture(scope='module')
def model():
  net = attention.SelfSupervisedAttention()
  net((_frames(1, 0), _frames(1, 1)))
  return net


def test_shapes_and_ranges(model):
  outputs = model((_frames(3, 0), _frames(3, 1)))
  assert outputs.reconstruction.shape == (3, 84, 84, 1)
  assert outputs.auto_reconstruction.shape == (3, 84, 84, 1)
  assert outputs.source_mask.shape == outputs.target_mask.shape == (3, 7, 7)
  assert model.encoder(_frames(2, 0)).shape == (2, 7, 7, attention.FEATURE_DEPTH)
  masks = model.mask(tf.cast(_frames(5, 2) * 255, tf.uint8))
  assert masks.shape == (5, 7, 7)
  assert tf.reduce_min(masks) >= 0.0 and tf.reduce_max(masks) <= 1.0


def test_mask_reads_only_the_newest_frame(model):
  stack = tf.cast(tf.random.stateless_uniform([2, 84, 84, 4], [3, 0]) * 255, tf.uint8)
  changed_old_frames = tf.concat([255 - stack[..., :3], stack[..., 3:]], axis=-1)
  np.testing.assert_array_equal(model.mask(stack), model.mask(changed_old_frames))


def test_threshold_ignores_small_errors_and_keeps_large_ones():
  target = tf.zeros([2, 4, 4, 1])
  small = tf.fill([2, 4, 4, 1], 0.05)      # squared error 0.0025 < delta
  large = tf.fill([2, 4, 4, 1], 0.2)       # squared error 0.04 >= delta
  assert float(attention.thresholded_squared_error(small, target, 0.01)) == 0.0
  np.testing.assert_allclose(
      attention.thresholded_squared_error(large, target, 0.01), 0.04, rtol=1e-6)
  half = tf.concat([small[:1], large[1:]], axis=0)
  np.testing.assert_allclose(       # averaged over all pixels, kept ones only
      attention.thresholded_squared_error(half, target, 0.01), 0.02, rtol=1e-6)
  # delta = 0 is plain mean squared error.
  np.testing.assert_allclose(
      attention.thresholded_squared_error(small, target, 0.0), 0.0025, rtol=1e-5)


def test_all_ones_mask_reconstructs_perfectly_but_pays_full_sparsity():
  target = _frames(2, 5)
  ones = tf.ones([2, 7, 7])
  outputs = attention.AttentionOutputs(target, target, ones, ones)
  losses = attention.mask_loss(target, outputs, delta=0.01, sparsity_weight=1e-3)
  assert float(losses['reconstruction']) == 0.0
  assert float(losses['auto_reconstruction']) == 0.0
  assert float(losses['sparsity']) == 1.0
  np.testing.assert_allclose(losses['total'], 1e-3)
  zeros = attention.AttentionOutputs(target, target, ones, tf.zeros([2, 7, 7]))
  assert float(attention.mask_loss(target, zeros, 0.01, 1e-3)['total']) == 0.0


def _with_mask_bias(model, bias):
  """Forces Psi to sigmoid(bias) everywhere by zeroing the 1x1 conv's kernel."""
  kernel, old_bias = model.mask_generator.to_mask.get_weights()
  model.mask_generator.to_mask.set_weights([np.zeros_like(kernel),
                                            np.full_like(old_bias, bias)])
  return kernel, old_bias


def test_transport_takes_target_under_the_mask_and_source_elsewhere(model):
  source, target = _frames(2, 7), _frames(2, 8)
  saved = _with_mask_bias(model, 30.0)            # Psi = 1: all from x_t
  try:
    full = model((source, target))
    np.testing.assert_allclose(full.reconstruction, full.auto_reconstruction,
                               atol=1e-5)
    _with_mask_bias(model, -30.0)                 # Psi = 0: all from x_s
    empty = model((source, target))
    from_source = model.decoder(model.encoder(source))
    np.testing.assert_allclose(empty.reconstruction, from_source, atol=1e-5)
  finally:
    model.mask_generator.to_mask.set_weights(saved)


def test_gradients_reach_every_part_but_not_the_source_branch(model):
  source, target = _frames(4, 9), _frames(4, 10)
  with tf.GradientTape(persistent=True) as tape:
    tape.watch(source)
    outputs = model((source, target))
    losses = attention.mask_loss(target, outputs, 0.01, 1e-3)
  for part in (model.encoder, model.mask_generator, model.decoder):
    gradients = tape.gradient(losses['total'], part.trainable_variables)
    assert part.trainable_variables
    for variable, gradient in zip(part.trainable_variables, gradients):
      assert gradient is not None, variable.name
      assert float(tf.norm(gradient)) > 0.0, variable.name
  # Phi(x_s) and Psi(x_s) are held fixed: nothing flows back into the source frame.
  source_gradient = tape.gradient(losses['total'], source)
  assert source_gradient is None or not np.any(source_gradient.numpy())


# Each precision computes these layers its own way (the faster one there).
PRECISION_TOLERANCES = [('float32', 1e-5), ('mixed_bfloat16', 3e-2)]


@pytest.mark.parametrize('form', [attention.SUB_PIXEL_FORM, attention.TRANSPOSED_FORM])
@pytest.mark.parametrize('dtype, tolerance', PRECISION_TOLERANCES)
def test_sub_pixel_layer_equals_a_transposed_convolution(dtype, tolerance, form):
  filters, kernel, stride, depth = 3, 8, 4, 5
  inputs = tf.random.stateless_normal([2, 6, 6, depth], [1, 2])
  reference = tf.keras.layers.Conv2DTranspose(filters, kernel, stride,
                                              activation='relu')
  expected = reference(inputs)
  w_t, b_t = reference.get_weights()          # [k, k, filters, depth], [filters]
  layer = attention.SubPixelConvTranspose(filters, kernel, stride, activation='relu',
                                          form=form, dtype=dtype)
  layer(inputs)
  w_s = np.zeros_like(layer.conv.get_weights()[0])   # [2, 2, depth, s*s*filters]
  for tap_r in range(2):
    for tap_c in range(2):
      for phase_r in range(stride):
        for phase_c in range(stride):
          channels = slice((phase_r * stride + phase_c) * filters,
                           (phase_r * stride + phase_c + 1) * filters)
          w_s[tap_r, tap_c, :, channels] = w_t[
              phase_r + stride * (1 - tap_r), phase_c + stride * (1 - tap_c)].T
  layer.conv.set_weights([w_s, np.tile(b_t, stride * stride)])
  got = tf.cast(layer(inputs), tf.float32)
  assert got.shape == expected.shape == (2, 28, 28, filters)
  assert np.any(got.numpy() == 0) and np.any(got.numpy() > 0)   # relu did cut
  scale = float(tf.reduce_max(tf.abs(expected)))
  np.testing.assert_allclose(got, expected, atol=tolerance * scale)
  with pytest.raises(ValueError, match='kernel_size == 2 \\* strides'):
    attention.SubPixelConvTranspose(3, 3, 1)
  with pytest.raises(ValueError, match="unknown SubPixelConvTranspose form 'fast'"):
    attention.SubPixelConvTranspose(3, 8, 4, form='fast')


def test_both_upsampling_forms_give_the_same_values_and_gradients_per_phase_bias():
  """The transposed form reads the sub-pixel kernel and its per-phase bias; a random
  bias (not the zeros of the init) checks that each phase gets its own."""
  inputs = tf.random.stateless_normal([3, 20, 17, 32], [3, 4])   # not square
  layers = [attention.SubPixelConvTranspose(16, 8, 4, activation='relu', form=form)
            for form in (attention.SUB_PIXEL_FORM, attention.TRANSPOSED_FORM)]
  layers[0](inputs)
  kernel, bias = layers[0].get_weights()
  bias = np.random.default_rng(0).normal(size=bias.shape).astype(np.float32)
  results = []
  for layer in layers:
    layer(inputs)
    layer.set_weights([kernel, bias])
    with tf.GradientTape() as tape:
      tape.watch(inputs)
      outputs = layer(inputs)
      loss = tf.reduce_sum(tf.square(outputs))
    results.append([outputs] + tape.gradient(loss, [inputs] + layer.trainable_variables))
  for got, expected in zip(*results):
    scale = float(tf.reduce_max(tf.abs(expected)))
    np.testing.assert_allclose(got, expected, atol=1e-5 * scale)


def test_upsampling_form_is_the_sub_pixel_conv_only_in_bfloat16():
  assert attention.upsampling_form('bfloat16') == attention.SUB_PIXEL_FORM
  assert attention.upsampling_form('float32') == attention.TRANSPOSED_FORM
  assert attention.Decoder(dtype='float32').deconvs.layers[2].form == (
      attention.TRANSPOSED_FORM)


@pytest.mark.parametrize('form', [attention.CONV_FORM, attention.DEPTHWISE_SUM_FORM])
@pytest.mark.parametrize('dtype, tolerance', PRECISION_TOLERANCES)
def test_one_channel_layer_equals_a_convolution_in_either_form(dtype, tolerance, form):
  inputs = tf.random.stateless_normal([2, 10, 10, 4], [3, 4])
  reference = tf.keras.layers.Conv2D(1, 3, padding='same')
  expected = reference(inputs)
  kernel, bias = reference.get_weights()       # [3, 3, 4, 1], [1]
  layer = attention.ConvToOneChannel(3, form=form, dtype=dtype)
  layer(inputs)
  layer.depthwise.set_weights([kernel])        # the depthwise kernel has its shape
  layer.bias.assign(bias)
  scale = float(tf.reduce_max(tf.abs(expected)))
  np.testing.assert_allclose(tf.cast(layer(inputs), tf.float32), expected,
                             atol=tolerance * scale)
  with pytest.raises(ValueError, match="unknown ConvToOneChannel form 'dense'"):
    attention.ConvToOneChannel(3, form='dense')


def test_one_channel_conv_form_is_the_conv_only_in_bfloat16_with_amx():
  amx = ('avx512_bf16', 'amx_bf16')
  assert attention.one_channel_conv_form('bfloat16', amx) == attention.CONV_FORM
  for dtype, units in [('bfloat16', ('avx512_bf16',)), ('float32', amx),
                       ('bfloat16', ())]:
    assert (attention.one_channel_conv_form(dtype, units)
            == attention.DEPTHWISE_SUM_FORM), (dtype, units)


def _orthogonal_gain(matrix: np.ndarray) -> float:
  """g if the rows (or, for a tall matrix, the columns) are orthogonal with norm g."""
  if matrix.shape[0] > matrix.shape[1]:
    matrix = matrix.T
  gram = matrix @ matrix.T
  gain_squared = float(np.mean(np.diag(gram)))
  np.testing.assert_allclose(gram, gain_squared * np.eye(len(gram)), atol=2e-4)
  return gain_squared ** 0.5


def test_initialisation_is_the_authors_orthogonal_init_with_relu_gain():
  """Every conv of Phi, Psi and the decoder: orthogonal, gain sqrt(2); Psi's output
  conv gain 1; biases 0 (the authors' model.py). Their PyTorch layouts flatten a
  conv weight to [out, in k k] and a transposed conv to [in, out k k]."""
  tf.keras.utils.set_random_seed(0)
  model = attention.SelfSupervisedAttention()
  model.create_variables()
  relu = 2 ** 0.5
  convs = (model.encoder.convs.layers
           + [layer for layer in model.mask_generator.convs.layers
              if isinstance(layer, tf.keras.layers.Conv2D)])
  assert len(convs) == 6
  for conv in convs:                                   # kernel [k, k, in, out]
    kernel = conv.kernel.numpy()
    assert _orthogonal_gain(kernel.reshape(-1, kernel.shape[-1]).T) == \
        pytest.approx(relu, rel=1e-4), conv.name
    np.testing.assert_array_equal(conv.bias.numpy(), 0.0)
  # Phi and Psi start apart, though their first convs have the same shape.
  assert not np.allclose(model.encoder.convs.layers[0].kernel.numpy(),
                         model.mask_generator.convs.layers[0].kernel.numpy())
  to_mask = model.mask_generator.to_mask.kernel.numpy()      # [1, 1, 32, 1]
  assert _orthogonal_gain(to_mask.reshape(1, -1)) == pytest.approx(1.0, rel=1e-4)

  deconv0, deconv1, sub_pixel, to_frame = model.decoder.deconvs.layers
  for deconv in (deconv0, deconv1):                   # kernel [k, k, out, in]
    kernel = deconv.kernel.numpy()
    rows = np.transpose(kernel, [3, 2, 0, 1]).reshape(kernel.shape[-1], -1)
    assert _orthogonal_gain(rows) == pytest.approx(relu, rel=1e-4), deconv.name
  # The sub-pixel kernel [2, 2, in, s s out] holds the transposed conv's [in, out k k]
  # numbers: one orthonormal row per input channel.
  kernel = sub_pixel.conv.kernel.numpy()
  assert kernel.shape == (2, 2, 32, 16 * 4 * 4)
  rows = np.transpose(kernel, [2, 0, 1, 3]).reshape(32, -1)
  assert _orthogonal_gain(rows) == pytest.approx(relu, rel=1e-4)
  depthwise = to_frame.depthwise.depthwise_kernel.numpy()    # [3, 3, 16, 1]
  assert _orthogonal_gain(depthwise.reshape(1, -1)) == pytest.approx(relu, rel=1e-4)
  np.testing.assert_array_equal(to_frame.bias.numpy(), 0.0)
  # Keras' default would have been Glorot uniform: the first conv's weights ~5.7x
  # smaller than orthogonal with gain sqrt(2) (std 0.031 vs 0.177).
  assert model.encoder.convs.layers[0].kernel.numpy().std() > 0.15


def test_mask_generator_layer_norms_use_pytorchs_epsilon():
  model = attention.SelfSupervisedAttention()
  norms = [layer for layer in model.mask_generator.convs.layers
           if isinstance(layer, tf.keras.layers.LayerNormalization)]
  assert len(norms) == 3
  assert all(norm.epsilon == 1e-5 for norm in norms)
  assert all(tuple(norm.axis) == (1, 2, 3) for norm in norms)


@pytest.mark.parametrize('dtype, tolerance', [('float32', 1e-4),
                                              ('mixed_bfloat16', 3e-2)])
def test_our_layer_norm_equals_keras_values_and_gradients(dtype, tolerance):
  """attention.LayerNormalization (three plain passes in float32) against the Keras
  layer it replaces, with the same random gamma and beta:
  outputs and gradients for inputs and weights agree within float32 rounding (and
  within bfloat16's under the mixed policy, where both compute in bfloat16 around
  the normalisation)."""
  x = tf.random.stateless_normal([4, 9, 9, 32], [3, 0]) * 3.0 + 1.0
  ours = attention.LayerNormalization(axis=[1, 2, 3], epsilon=1e-5, dtype=dtype)
  theirs = tf.keras.layers.LayerNormalization(axis=[1, 2, 3], epsilon=1e-5,
                                              dtype=dtype)
  ours.build(x.shape)
  theirs.build(x.shape)
  for a, b, seed in ((ours.gamma, theirs.gamma, 1), (ours.beta, theirs.beta, 2)):
    value = tf.random.stateless_normal(a.shape, [seed, 0])
    a.assign(value)
    b.assign(value)
  weights = tf.random.stateless_normal(x.shape, [4, 0])
  results = []
  for layer in (ours, theirs):
    with tf.GradientTape() as tape:
      tape.watch(x)
      y = layer(x)
      loss = tf.reduce_sum(tf.cast(y, tf.float32) * weights)
    results.append((y, *tape.gradient(loss, [x, layer.gamma, layer.beta])))
  for got, want in zip(*results):
    assert got.dtype == want.dtype
    got, want = tf.cast(got, tf.float32), tf.cast(want, tf.float32)
    scale = max(1.0, float(tf.reduce_max(tf.abs(want))))
    np.testing.assert_allclose(got, want, rtol=tolerance, atol=tolerance * scale)
  assert [w.name for w in ours.weights] != [] and len(ours.weights) == 2


def _one_pass_reference(model, source, target):
  """The module's forward as it was computed before 2026-12-02: encoder and Psi run
  once over source and target concatenated, the source half held fixed after."""
  both = tf.concat([source, target], axis=0)
  source_features, target_features = tf.split(model.encoder(both), 2, axis=0)
  source_mask, target_mask = tf.split(model.mask_generator(both), 2, axis=0)
  keep = (1.0 - tf.stop_gradient(source_mask)) * (1.0 - target_mask)
  mixed = (keep[..., None] * tf.stop_gradient(source_features)
           + target_mask[..., None] * target_features)
  reconstruction, auto = tf.split(
      model.decoder(tf.concat([mixed, target_features], axis=0)), 2, axis=0)
  return attention.AttentionOutputs(reconstruction, auto, source_mask, target_mask)


def test_source_branch_on_its_own_computes_what_one_pass_did(model):
  """The source branch now runs apart, behind stop_gradient (no backward pass for
  it): the outputs, the loss and every gradient equal the one-pass form's."""
  source, target = _frames(4, 21), _frames(4, 22)
  results = []
  for forward in (model, lambda pair: _one_pass_reference(model, *pair)):
    with tf.GradientTape() as tape:
      outputs = forward((source, target))
      loss = attention.mask_loss(target, outputs, 0.01, 1e-3)['total']
    results.append((list(outputs), loss,
                    tape.gradient(loss, model.trainable_variables)))
  (outputs, loss, gradients), (want_outputs, want_loss, want_gradients) = results
  for got, want in zip(outputs, want_outputs):
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(loss, want_loss, rtol=1e-5)
  # Batches of 4 and of 8 sum a gradient's thousands of terms in other orders: with
  # some random weights the difference reached 1.1e-3 of a variable's largest entry
  # (a source branch left on the tape changes them by far more).
  for got, want in zip(gradients, want_gradients):
    np.testing.assert_allclose(got, want, rtol=0,
                               atol=1e-2 * float(np.max(np.abs(want))))


def test_masks_of_traces_once_per_model_and_equals_the_eager_mask():
  model = attention.SelfSupervisedAttention()
  model.create_variables()
  observations = np.random.default_rng(0).integers(0, 256, (5, 84, 84, 4), np.uint8)
  first = attention.masks_of(model, observations, batch_size=5)
  again = attention.masks_of(model, observations, batch_size=5)
  np.testing.assert_array_equal(first, again)
  np.testing.assert_allclose(first, model.mask(tf.constant(observations)).numpy(),
                             rtol=1e-5, atol=1e-6)
  assert model._masks_of_function.experimental_get_tracing_count() == 1
