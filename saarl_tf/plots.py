"""What a person looks at: mask overlays, keypoint figures and learning curves.

NumPy, Matplotlib and Pillow; files through `storage` (`tf.io.gfile`).

Learning curves are in the paper's form: mean over seeds and its 95% CI against
frames; the curves and their statistics are `evaluation.curves`'.
"""

import os
import textwrap
from typing import Dict, Optional, Sequence, Tuple

import matplotlib
matplotlib.use('Agg')   # files only; no display on servers and CI
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
import matplotlib.ticker  # pylint: disable=g-import-not-at-top
import numpy as np

from saarl_tf import storage
from saarl_tf.evaluation import curves as curves_lib
from saarl_tf.models import geometry



COLOURMAP = 'inferno'   # dark where the mask is 0, bright yellow where it is 1
_ALPHA = 0.55           # how much of a pixel's colour the mask sets
_SCALE_WIDTH = 16       # the colour scale's bar, in output pixels
_LABEL_HEIGHT = 42      # the label strip under a picture, in output pixels


def mask_overlay(frames: np.ndarray, masks: np.ndarray, scale: int = 1) -> np.ndarray:
  """Frames with the mask laid over them as a heat map (`COLOURMAP`), `scale`x.

  Each pixel is coloured by the mask cell it belongs to (`geometry.upsample_masks`:
  exact for the 84x84 frame and for the 210x160 screen it was resized from).

  Args:
    frames: float [B, H, W, 1] (grayscale) or [B, H, W, 3] (colour) in [0, 1];
      H x W is 84x84 or Atari's 210x160 screen.
    masks: float [B, m, m] in [0, 1].
    scale: output pixels per input pixel (nearest neighbour).

  Returns:
    float32 [B, H * scale, W * scale, 3] in [0, 1].
  """
  frames = np.asarray(frames, np.float32)
  upsampled = geometry.upsample_masks(masks, frames.shape[1], frames.shape[2])
  heat = matplotlib.colormaps[COLOURMAP](np.clip(upsampled, 0, 1))[..., :3]
  colour = np.broadcast_to(frames, frames.shape[:3] + (3,))
  out = ((1 - _ALPHA) * colour + _ALPHA * heat).astype(np.float32)
  return out.repeat(scale, axis=1).repeat(scale, axis=2) if scale > 1 else out


def _font(size: int):
  from PIL import ImageFont  # pylint: disable=g-import-not-at-top
  return ImageFont.load_default(size=size)   # Pillow's own font; no system fonts


def _colour_scale(height: int) -> np.ndarray:
  """uint8 [height, 3 * _SCALE_WIDTH, 3]: the colour bar (1 at the top) and its ends' labels."""
  from PIL import Image, ImageDraw  # pylint: disable=g-import-not-at-top
  values = np.linspace(1, 0, height)
  bar = matplotlib.colormaps[COLOURMAP](values)[:, None, :3].repeat(_SCALE_WIDTH, 1)
  panel = np.zeros((height, 3 * _SCALE_WIDTH, 3), np.uint8)
  panel[:, 2:2 + _SCALE_WIDTH] = (bar * 255).astype(np.uint8)
  image = Image.fromarray(panel)
  draw = ImageDraw.Draw(image)
  font = _font(11)
  draw.text((_SCALE_WIDTH + 4, 0), '1', fill=(255, 255, 255), font=font)
  draw.text((_SCALE_WIDTH + 4, height // 2 - 6), 'mask', fill=(255, 255, 255),
            font=_font(8))
  draw.text((_SCALE_WIDTH + 4, height - 13), '0', fill=(255, 255, 255), font=font)
  return np.asarray(image)


def labelled_pictures(pictures: np.ndarray, labels: Sequence[str],
                      colour_scale: bool = True, multiple_of: int = 1) -> np.ndarray:
  """Pictures with a text label under each and (for masks) a colour scale beside it.

  Args:
    pictures: float [B, H, W, 3] in [0, 1] (e.g. `mask_overlay`'s) or uint8.
    labels: B strings (game, step, score...); parts separated by ' | ' go onto a
      second line when the picture is too narrow for one.
    colour_scale: whether to add `COLOURMAP`'s scale from 0 to 1 on the right.
    multiple_of: pad the result with black to a multiple of this many pixels in
      height and width (16 keeps video encoders from resizing).

  Returns:
    uint8 [B, H', W', 3].
  """
  from PIL import Image, ImageDraw  # pylint: disable=g-import-not-at-top
  pictures = np.asarray(pictures)
  if pictures.dtype != np.uint8:
    pictures = (np.clip(pictures, 0, 1) * 255 + 0.5).astype(np.uint8)
  count, height, width, _ = pictures.shape
  scale = _colour_scale(height) if colour_scale else np.zeros((height, 0, 3), np.uint8)
  out_height = -(-(height + _LABEL_HEIGHT) // multiple_of) * multiple_of
  out_width = -(-(width + scale.shape[1]) // multiple_of) * multiple_of
  out = np.zeros((count, out_height, out_width, 3), np.uint8)
  out[:, :height, :width] = pictures
  out[:, :height, width:width + scale.shape[1]] = scale
  font = _font(14)
  for picture, label in zip(out, labels):
    strip = Image.fromarray(picture[height:])
    draw = ImageDraw.Draw(strip)
    draw.multiline_text((4, 3), _fit(label, out_width - 8, draw, font),
                        fill=(255, 255, 255), font=font, spacing=3)
    picture[height:] = np.asarray(strip)
  return out


def _fit(label: str, width: int, draw, font) -> str:
  """The label's ' | '-separated parts on as few lines as fit `width` pixels."""
  lines = []
  for part in label.split(' | '):
    joined = f'{lines[-1]} | {part}' if lines else part
    if lines and draw.textlength(joined, font=font) <= width:
      lines[-1] = joined
    else:
      lines.append(part)
  return '\n'.join(lines)


def overlay_png(observations: np.ndarray, masks: np.ndarray, path: str,
                boxes: Optional[np.ndarray] = None, title: str = '',
                columns: int = 8):
  """Writes up to 2 rows of frames with their masks, ground-truth boxes and scale.

  Args:
    observations: uint8 [F, 84, 84, C]; the newest frame is shown.
    masks: float [F, 7, 7] in [0, 1].
    path: the PNG to write (150 dpi).
    boxes: float [F, K, 4] (top, left, bottom, right) ground-truth boxes in 84x84
      pixels, NaN rows pad; drawn in green when given.
    title: the figure's title (the game, what the frames are).
  """
  count = min(len(observations), 2 * columns)
  frames = observations[:count][..., -1:].astype(np.float32) / 255
  rgb = mask_overlay(frames, masks[:count])
  rows = -(-count // columns)
  figure, axes = plt.subplots(rows, columns, figsize=(1.6 * columns, 1.75 * rows + 0.6),
                              squeeze=False)
  for i, axis in enumerate(axes.flat):
    axis.set_axis_off()
    if i >= count:
      continue
    axis.imshow(rgb[i], interpolation='nearest')
    axis.set_title(f'frame {i}', fontsize=7)
    if boxes is not None:
      for top, left, bottom, right in boxes[i][~np.isnan(boxes[i][:, 0])]:
        axis.add_patch(plt.Rectangle((left - 0.5, top - 0.5), right - left,
                                     bottom - top, fill=False, color='lime', lw=0.8))
  colours = plt.cm.ScalarMappable(cmap=COLOURMAP, norm=plt.Normalize(0, 1))
  figure.colorbar(colours, ax=axes, fraction=0.02, pad=0.01,
                  label='mask value Psi(x)')
  legend = ' (green: ground-truth objects)' if boxes is not None else ''
  figure.suptitle(f'{title}{legend}', fontsize=9)
  storage.save_figure(figure, path, dpi=150, bbox_inches='tight')
  plt.close(figure)


def plot_keypoints(observations, boxes, ours, theirs, title: str, path: str,
                   num_frames: int = 4):
  """Frames with ground-truth boxes (green), ours (red +) and Transporter's (blue x).

  Args:
    observations: uint8 [F, 84, 84, C].
    boxes: float [F, K, 4] (top, left, bottom, right) pixels; NaN rows pad.
    ours, theirs: float [F, k, 2] (row, col) keypoints in pixels.
    title: the figure's title.
    path: the PNG to write.
  """
  figure, axes = plt.subplots(1, num_frames, figsize=(3 * num_frames, 3.3))
  picks = np.linspace(0, len(observations) - 1, num_frames).astype(int)
  for axis, i in zip(np.atleast_1d(axes), picks):
    axis.imshow(observations[i, ..., -1], cmap='gray', vmin=0, vmax=255)
    for top, left, bottom, right in boxes[i][~np.isnan(boxes[i][:, 0])]:
      axis.add_patch(plt.Rectangle((left - 0.5, top - 0.5), right - left,
                                   bottom - top, fill=False, color='lime', lw=1))
    axis.scatter(ours[i, :, 1], ours[i, :, 0], marker='+', color='red', s=60,
                 label='attention mask (ours)')
    axis.scatter(theirs[i, :, 1], theirs[i, :, 0], marker='x', color='deepskyblue',
                 s=40, label='Transporter')
    axis.set_axis_off()
  np.atleast_1d(axes)[0].legend(loc='lower left', fontsize=7)
  figure.suptitle(title)
  figure.tight_layout()
  storage.save_figure(figure, path, dpi=100)
  plt.close(figure)


def _frames_axis(axis, game: str, most: float):
  """Frames on the x axis in millions (thousands for short runs), no offset; the
  sprites game, whose frame is an agent step, says so."""
  scale, unit = (1e6, 'millions') if most >= 1e6 else (1e3, 'thousands')
  axis.set_xlim(0, most)       # every panel on the same axis: runs of two budgets
  axis.xaxis.set_major_formatter(
      matplotlib.ticker.FuncFormatter(lambda x, _: f'{x / scale:g}'))
  what = 'agent steps' if game.lower() == 'sprites' else 'emulator frames'
  axis.set_xlabel(f'{what} ({unit})')


def plot_learning_curves(curves: Dict[Tuple[str, str], np.ndarray], grid: np.ndarray,
                         games: Sequence[str], variants: Sequence[str], title: str,
                         path: str,
                         evaluations: Sequence[
                             Tuple[str, Dict[Tuple[str, str], np.ndarray],
                                   np.ndarray]] = ()):
  """One column per game; per variant, the mean over seeds and its 95% CI band.

  Args:
    curves: (game, variant) -> float [seeds, G] training curves.
    grid: float [G] frames.
    games, variants: panel and line order.
    title: the figure's title.
    path: the PNG to write (at 200 dpi; an SVG beside it).
    evaluations: per kind of evaluation game (its label, e.g. 'evaluation, sticky
      actions'), (game, variant) -> float [seeds, E] evaluation curves read at its
      frames (float [E]); each kind not all NaN adds a row of panels.
  """
  rows = [('training', curves, grid,
           f'raw score (mean of last {curves_lib.WINDOW} games)')]
  rows += [(label, eval_curves, eval_frames, 'raw score (evaluation games)')
           for label, eval_curves, eval_frames in evaluations
           if any(np.isfinite(c).any() for c in eval_curves.values())]
  figure, axes = plt.subplots(len(rows), len(games),
                              figsize=(4.2 * len(games), 3.4 * len(rows)),
                              squeeze=False)
  most = max([grid.max(initial=0)] + [np.max(frames, initial=0)
                                      for _, _, frames, _ in rows])
  for row, (kind, row_curves, frames, ylabel) in zip(axes, rows):
    for axis, game in zip(row, games):
      drawn = 0
      for variant in variants:
        runs = row_curves.get((game, variant))
        if runs is None or np.all(np.isnan(runs)):
          continue
        drawn += 1
        mean, low, high = curves_lib.mean_and_ci(runs)
        marker = None if kind == 'training' else 'o'
        seeds = f'{len(runs)} seed' + ('s' if len(runs) != 1 else '')
        band = len(runs) >= curves_lib.MIN_SEEDS_FOR_CI
        # One colour per variant in every panel, whichever variants a panel has.
        line, = axis.plot(frames, mean, marker=marker, markersize=3,
                          color=f'C{list(variants).index(variant) % 10}',
                          label=f'{variant} ({seeds}' + (', 95% CI band)' if band
                                                         else ', no CI)'))
        if band:
          axis.fill_between(frames, low, high, color=line.get_color(), alpha=0.2)
      axis.set_title(textwrap.fill(f'{game}, {kind}', width=42), fontsize=9)
      _frames_axis(axis, game, most)
      axis.set_ylabel(ylabel)
      if drawn:
        axis.legend(fontsize=7, framealpha=0.8)
      else:
        axis.text(0.5, 0.5, 'no runs played these games', ha='center',
                  va='center', transform=axis.transAxes, fontsize=8)
  figure.suptitle(textwrap.fill(title, width=45 * len(games)), fontsize=10)
  figure.tight_layout()
  storage.save_figure(figure, path, dpi=200)            # print resolution
  storage.save_figure(figure, os.path.splitext(path)[0] + '.svg')
  plt.close(figure)
