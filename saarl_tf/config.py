"""Every setting of the package, declared once: name, default, meaning and allowed values.

As CleanRL's `Args` dataclass: each setting is a field of a frozen dataclass, with its
default and a help text beside it. The configs nest, so that what pre-training, A2C
and the keypoint comparison share (the mask loss, the mask's Adam, the summary and
checkpoint schedule) is declared in one place:

  PretrainConfig   mask pre-training on random-policy frames
    .mask_loss     MaskLossConfig       delta, lambda_m
    .adam          AdamConfig           the mask's Adam
    .schedule      ScheduleConfig       summaries, images, checkpoints
  A2CConfig        one A2C run
    .rmsprop       RMSpropConfig        the RL optimiser
    .loss          A2CLossConfig        gamma, entropy and value weights
    .mask          JointMaskConfig      the joint variant's L_mask training
      .mask_loss, .adam
    .env           AtariOptions         reward clipping, episodic life, frame stack
    .eval          EvalConfig           evaluation games during training
    .schedule      ScheduleConfig
  KeypointsConfig  the keypoint comparison with Transporter (games, frames, seeds:
    .pretrain      PretrainConfig        those of the mask's pre-training)
    .transporter   TransporterConfig

The same declarations make the command-line flags (`define_flags`, flat names such as
`--learning_rate` and `--mask_learning_rate`), check values in the library and on the
command line alike (`Validated`, one line naming the value and what is allowed), and
build configs from parsed flags (`from_flags`). This module imports no TensorFlow, so
that a bad flag answers before TensorFlow loads.
"""

import dataclasses
import typing
from typing import Any, Dict, Iterator, Optional, Tuple, Type

# The names code compares against, each spelled once.
BASELINE, JOINT, FROZEN = VARIANTS = ('baseline', 'joint', 'frozen')
SEPARATE, SUMMED = MASK_UPDATES = ('separate', 'summed')
MULTIPLY, RESIDUAL = MASK_MODES = ('multiply', 'residual')
EVAL_POLICIES = ('greedy', 'sample')
# How evaluation games are played. noop: started as in training (up to 30 no-ops
# after a reset, no sticky actions), with --eval_policy; sticky: also sticky actions in
# the evaluation envs only, so that a greedy policy's games differ; sample: started as
# noop, actions sampled from the policy (a greedy policy that repeats one action says
# nothing of the policy that learned).
NOOP, STICKY, SAMPLE = EVAL_MODES = ('noop', 'sticky', 'sample')
DEFAULT_EVAL_MODES = (NOOP, STICKY)
PRECISIONS = ('float32', 'mixed_bfloat16', 'auto')
UNIVERSAL_MASK_GAMES = ('Asteroids', 'Assault', 'MsPacman')
VIDEO_SUFFIXES = ('.mp4', '.gif')   # what `play` can encode (imageio: ffmpeg, Pillow)


def setting(default: Any, help: str, *, flag: Optional[str] = None,  # pylint: disable=redefined-builtin
            choices: Optional[Tuple[str, ...]] = None,
            lower: Optional[float] = None, upper: Optional[float] = None,
            above: Optional[float] = None, command_line: bool = True) -> Any:
  """A config field: its default, help text, flag name and allowed values.

  Args:
    default: the default value (the paper's or its authors' code's).
    help: what the setting means, with its unit.
    flag: the command-line flag's name (default: the field's name).
    choices: the allowed strings.
    lower, upper: inclusive bounds.
    above: an exclusive lower bound.
    command_line: False for settings the launcher sets from its own run flags
      (which game, which variant of a protocol).
  """
  return dataclasses.field(default=default, metadata=dict(
      help=help, flag=flag, choices=choices, lower=lower, upper=upper, above=above,
      command_line=command_line))


def nested(config_class: Type[Any]) -> Any:
  """A field holding a sub-config, defaulting to that config's defaults."""
  return dataclasses.field(default_factory=config_class, metadata={'nested': True})


def _check(flag: str, value: Any, metadata: Dict[str, Any]):
  """Raises ValueError (one line) if `value` breaks the field's rule."""
  if value is None:
    return
  choices = metadata.get('choices')
  if choices and isinstance(value, tuple):
    if not value or any(item not in choices for item in value):
      raise ValueError(f'--{flag}={",".join(value)}: expected one or more of '
                       f'{", ".join(choices)}, comma-separated')
  elif choices and value not in choices:
    raise ValueError(f'--{flag}={value}: expected one of {", ".join(choices)}')
  lower, upper, above = metadata.get('lower'), metadata.get('upper'), \
      metadata.get('above')
  if lower is not None and value < lower:
    raise ValueError(f'--{flag}={value}: must be >= {lower:g}')
  if upper is not None and value > upper:
    raise ValueError(f'--{flag}={value}: must be <= {upper:g}')
  if above is not None and value <= above:
    raise ValueError(f'--{flag}={value}: must be > {above:g}')


class Validated:
  """Checks every field against its declared rule when a config is made."""

  def __post_init__(self):
    for field in dataclasses.fields(self):
      if not field.metadata.get('nested'):
        _check(field.metadata.get('flag') or field.name, getattr(self, field.name),
               field.metadata)


# --- Pieces shared by pre-training, A2C and keypoints ------------------------------


def _seed() -> Any:
  return setting(0, 'Seed of environments, sampling and initialisation.')


def _num_envs() -> Any:
  return setting(16, 'Environments per game.', lower=1)


def _precision() -> Any:
  return setting(
      'auto', 'Network arithmetic: float32 (the paper), mixed_bfloat16 (convs and '
      'dense layers in bfloat16, variables float32), or auto (bfloat16 where the '
      'CPU/GPU computes it natively).', choices=PRECISIONS)


def _mask_checkpoint() -> Any:
  return setting(None, "The pre-trained mask (frozen variant, keypoints): a mask "
                 "export (export/universal_mask) or a pretrain_mask run's "
                 'checkpoints/ directory.')


@dataclasses.dataclass(frozen=True)
class MaskLossConfig(Validated):
  """L_mask's weights (authors' code)."""
  delta: float = setting(
      0.01, 'Squared pixel errors (pixels in [0, 1]) below this are ignored in the '
      'reconstruction term.', lower=0)
  sparsity_weight: float = setting(
      1e-3, 'lambda_m: weight of the L1 penalty on the mask (its mean).', lower=0)


@dataclasses.dataclass(frozen=True)
class AdamConfig(Validated):
  """The attention module's Adam (authors' code)."""
  learning_rate: float = setting(1e-3, "The mask's Adam step size.",
                                 flag='mask_learning_rate', above=0)
  clip_norm: float = setting(0.5, "Global gradient-norm clip of the mask's Adam step.",
                             flag='mask_clip_norm', above=0)


@dataclasses.dataclass(frozen=True)
class ScheduleConfig(Validated):
  """How often a training loop writes summaries, images and checkpoints."""
  summary_every: int = setting(100, 'Updates between TensorBoard scalars.', lower=1)
  image_every: int = setting(1000, 'Updates between TensorBoard images.', lower=1)
  checkpoint_every: int = setting(
      1000, 'Updates between checkpoints (one is also written when a run stops).',
      lower=1)
  progress: bool = setting(True, 'Show a progress bar.')


# --- Mask pre-training ------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class PretrainConfig(Validated):
  """Offline mask pre-training on random-policy frames (authors' code's defaults)."""
  games: Tuple[str, ...] = setting(
      UNIVERSAL_MASK_GAMES, 'Games whose random-policy frames train the mask '
      '(default: the universal mask of the multi-task protocol).',
      command_line=False)
  num_envs: int = _num_envs()
  collect_steps: int = setting(
      2500, 'Random-policy agent steps per environment to collect.', lower=1)
  train_steps: int = setting(20_000, 'Mask pre-training updates.',
                             flag='mask_train_steps', lower=0)
  batch_size: int = setting(16, 'Frame pairs per update.', flag='mask_batch_size',
                            lower=1)
  max_gap: int = setting(59, 'Most agent steps between the two frames of a pair.',
                         flag='max_pair_gap', lower=1)
  seed: int = _seed()
  eval_frames: int = setting(
      200, 'Held-out frames per game on which mask quality is measured.', lower=1)
  quality_seed: int = setting(
      12345, 'Seed of the held-out frames on which masks are scored (apart from '
      'the training seeds).')
  precision: str = _precision()
  mask_loss: MaskLossConfig = nested(MaskLossConfig)
  adam: AdamConfig = nested(AdamConfig)
  schedule: ScheduleConfig = nested(ScheduleConfig)

  @property
  def num_frames(self) -> int:
    """Frames collected: games x envs x (steps + the reset frame)."""
    return len(self.games) * self.num_envs * (self.collect_steps + 1)


# --- A2C --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RMSpropConfig(Validated):
  """A2C's RMSprop (Mnih et al. 2016; PyTorch's epsilon semantics)."""
  learning_rate: float = setting(7e-4, "RMSprop's step size.", above=0)
  decay: float = setting(0.99, "RMSprop's rho.", flag='rmsprop_decay', lower=0,
                         upper=1)
  epsilon: float = setting(1e-5, "RMSprop's epsilon, added to sqrt(v) as PyTorch "
                           'does.', flag='rmsprop_epsilon', above=0)
  clip_norm: float = setting(0.5, 'Global gradient-norm clip of the L_RL step.',
                             above=0)


@dataclasses.dataclass(frozen=True)
class A2CLossConfig(Validated):
  """L_RL's discount and weights."""
  gamma: float = setting(0.99, 'Discount factor of the n-step returns.', lower=0,
                         upper=1)
  entropy_coefficient: float = setting(0.01, 'Weight of the entropy bonus.', lower=0)
  value_coefficient: float = setting(0.5, 'Weight of the value loss.', lower=0)


@dataclasses.dataclass(frozen=True)
class JointMaskConfig(Validated):
  """How the joint variant trains L_mask on the agent's own recent frames."""
  update: str = setting(
      'separate', "separate: an Adam step on L_mask beside the RMSprop step on L_RL "
      "(the authors' code); summed: one RMSprop step on L_RL + mask_loss_weight * "
      "L_mask (the paper's text).", flag='mask_update', choices=MASK_UPDATES)
  loss_weight: float = setting(
      1.0, 'lambda in L_RL + lambda L_mask (--mask_update=summed).',
      flag='mask_loss_weight', lower=0)
  start_update: int = setting(15, 'L_mask is trained from this update on.',
                              flag='mask_start_update', lower=0)
  recent_frames: int = setting(
      60, 'Frames per env from which pairs are drawn.', lower=2)
  pairs: int = setting(
      0, "Frame pairs per L_mask step; 0: one per env (the authors' code); fewer "
      'makes each update cheaper.', flag='mask_pairs', lower=0)
  rl_gradient: bool = setting(
      True, "Whether L_RL's gradient reaches the mask generator Psi (the authors' "
      'code: yes); false trains Psi on L_mask alone, the RL loss seeing its mask as '
      'a fixed input.', flag='mask_rl_gradient')
  mask_loss: MaskLossConfig = nested(MaskLossConfig)
  adam: AdamConfig = nested(AdamConfig)


@dataclasses.dataclass(frozen=True)
class AtariOptions(Validated):
  """Atari preprocessing choices (the sprites game ignores them)."""
  clip_rewards: bool = setting(True, 'Clip training rewards to their sign.')
  episodic_life: bool = setting(True, 'A life loss ends the RL episode.')
  zero_frame_stack: bool = setting(
      True, "Every RL episode (game or life) starts from a frame stack whose older "
      "frames are zero, as the authors' code; false keeps the frames from before a "
      'life loss (baselines).')


@dataclasses.dataclass(frozen=True)
class EvalConfig(Validated):
  """Evaluation games during training (the authors' code's test scores)."""
  every: int = setting(1250, "Updates between evaluations (authors' code: 1250); 0: "
                       'none.', flag='eval_every', lower=0)
  games: int = setting(10, 'Complete games (all lives, raw scores) per evaluation, '
                       'one per evaluation env, seeded apart from training.',
                       flag='eval_games', lower=1)
  policy: str = setting('greedy', "greedy: the most likely action (authors' code); "
                        'sample: sampled actions.', flag='eval_policy',
                        choices=EVAL_POLICIES)
  modes: Tuple[str, ...] = setting(
      DEFAULT_EVAL_MODES, 'How evaluation games are played, each mode its own games '
      'and log: noop, started as training (up to 30 no-ops; eval.csv); sticky, with '
      'sticky actions in the evaluation envs only (games differ under a greedy '
      'policy; eval_sticky.csv); sample, started as noop with actions sampled from '
      'the policy whatever --eval_policy says (eval_sample.csv).', flag='eval_modes',
      choices=EVAL_MODES)
  sticky_action_prob: float = setting(
      0.25, "Probability that an evaluation env repeats the previous action in the "
      "sticky mode (Machado et al. 2018's 0.25).", flag='eval_sticky_action_prob',
      above=0, upper=1)


@dataclasses.dataclass(frozen=True)
class A2CConfig(Validated):
  """One A2C run. Defaults: the A2C paper and the authors' code."""
  game: str = setting('Pong', 'The game (as the paper writes it, an ale id, or '
                      'Sprites).', command_line=False)
  variant: str = setting(
      'joint', 'baseline: no mask; joint: mask trained with the agent; frozen: a '
      'pre-trained mask (--mask_checkpoint).', choices=VARIANTS)
  seed: int = _seed()
  num_envs: int = _num_envs()
  rollout_steps: int = setting(5, 'n of the n-step returns.', lower=1)
  env_groups: int = setting(
      1, 'Atari: groups of envs stepped apart, so that the network acts for one '
      'while the emulator steps another (the same algorithm). 1 steps all together, '
      'the faster on 2 cores, where both already use every core '
      '(docs/BENCHMARK.md). Must divide --num_envs.', lower=1)
  total_frames: int = setting(40_000_000, 'Emulator frames per run (4 per agent step '
                              'on Atari; the paper: 1e7 agent steps).', lower=1)
  mask_checkpoint: Optional[str] = _mask_checkpoint()
  mask_init_checkpoint: Optional[str] = setting(
      None, "joint: start the attention module from a pretrain_mask run's "
      'checkpoints/ directory instead of from scratch.')
  mask_mode: str = setting(
      'multiply', "How the mask scales the features: multiply, Psi f (the paper's "
      "text); residual, (1 + Psi) f (the authors' code's default for a pre-trained "
      'mask).', choices=MASK_MODES)
  precision: str = _precision()
  rmsprop: RMSpropConfig = nested(RMSpropConfig)
  loss: A2CLossConfig = nested(A2CLossConfig)
  mask: JointMaskConfig = nested(JointMaskConfig)
  env: AtariOptions = nested(AtariOptions)
  eval: EvalConfig = nested(EvalConfig)
  schedule: ScheduleConfig = nested(ScheduleConfig)

  def __post_init__(self):
    super().__post_init__()
    if self.num_envs % self.env_groups:
      raise ValueError(f'--env_groups={self.env_groups}: must divide '
                       f'--num_envs={self.num_envs}; use --env_groups=1')

  def frames_per_update(self, frames_per_step: int) -> int:
    """Emulator frames one update consumes: envs x rollout steps x frame skip."""
    return self.num_envs * self.rollout_steps * frames_per_step


# The settings (flattened names, or prefixes ending in '.') each variant's run never
# reads: a resume may differ in them.
UNUSED_BY_VARIANT = {
    BASELINE: ('mask_mode', 'mask_checkpoint', 'mask_init_checkpoint', 'mask.'),
    JOINT: ('mask_checkpoint',),
    FROZEN: ('mask_init_checkpoint', 'mask.'),
}


def unused_by(variant: str, name: str) -> bool:
  """Whether a run of `variant` never reads the setting `name` ('mask.pairs')."""
  return any(name == unused or (unused.endswith('.') and name.startswith(unused))
             for unused in UNUSED_BY_VARIANT.get(variant, ()))


# --- Keypoints --------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class TransporterConfig(Validated):
  """Transporter's training (Kulkarni et al. 2019)."""
  steps: int = setting(5000, 'Transporter training updates.',
                       flag='transporter_steps', lower=0)
  batch_size: int = setting(16, 'Frame pairs per Transporter update.',
                            flag='transporter_batch_size', lower=1)
  max_gap: int = setting(20, "Transporter's pairs: frames t and t + up to this.",
                         flag='transporter_max_gap', lower=1)
  learning_rate: float = setting(1e-3, "Transporter's Adam step size.",
                                 flag='transporter_learning_rate', above=0)
  clip_norm: float = setting(0.5, "Global gradient-norm clip of Transporter's Adam "
                             'step.', flag='transporter_clip_norm', above=0)


@dataclasses.dataclass(frozen=True)
class KeypointsConfig(Validated):
  """Keypoints from the mask against Transporter's (Figure 5)."""
  num_keypoints: int = setting(5, "k: Transporter's keypoints, and ours at the same "
                               'k.', lower=1)
  threshold: float = setting(0.5, 'Ours without a fixed k: every NMS peak above '
                             'this.', flag='keypoint_threshold', lower=0, upper=1)
  min_peak: float = setting(0.1, 'Ours with k: peaks weaker than this are not '
                            'objects.', flag='keypoint_min_peak', lower=0, upper=1)
  margin: float = setting(6.0, 'Pixels added around ground-truth boxes when scoring '
                          '(half a mask cell).', flag='keypoint_margin', lower=0)
  mask_checkpoint: Optional[str] = _mask_checkpoint()
  pretrain: PretrainConfig = nested(PretrainConfig)
  transporter: TransporterConfig = nested(TransporterConfig)


# --- Watching an agent -------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class PlayConfig(Validated):
  """`--experiment=play`: a trained agent (or random play) on video, with its mask."""
  run: Optional[str] = setting(
      None, 'The A2C run directory whose policy plays (its latest checkpoint).')
  mask: Optional[str] = setting(
      None, 'With no --run: a mask export (export/universal_mask) shown over random '
      'play of --games.')
  video: Optional[str] = setting(
      None, 'The video to write: .mp4 (H.264, imageio-ffmpeg) or .gif (Pillow); '
      'none plays and prints the scores only.')
  games: int = setting(10, 'Complete games (all lives) to play, one after another.',
                       flag='eval_games', lower=1)
  policy: str = setting('greedy', "greedy: the policy's most likely action (the "
                        "authors' evaluation); sample: drawn from the policy.",
                        flag='eval_policy', choices=EVAL_POLICIES)
  seed: int = _seed()
  fps: int = setting(15, 'Video frames per second: one frame per agent step, so 15 '
                     'is real time (4 emulator frames per step at 60 Hz).', lower=1)
  scale: int = setting(3, 'Video pixels per screen pixel.', flag='video_scale',
                       lower=1)
  records: Optional[str] = setting(
      None, "A CSV of each game's raw score, agent steps and most frequent action with "
      'the share of the steps it was chosen in (what play prints), kept for the '
      'record.', flag='play_records')
  strip: Optional[str] = setting(
      None, "A PNG of the first game's frames side by side (every --strip_every "
      'steps from the start), the still a README or paper shows.')
  strip_every: int = setting(30, 'Agent steps between the strip\'s frames.', lower=1)
  strip_frames: int = setting(6, 'Frames in the strip.', lower=1)


# --- Flags ------------------------------------------------------------------------


def leaves(config_class: Type[Any], path: Tuple[str, ...] = ()
           ) -> Iterator[Tuple[Tuple[str, ...], dataclasses.Field]]:
  """(field path, field) of every setting of a config class, depth first."""
  for field in dataclasses.fields(config_class):
    if field.metadata.get('nested'):
      yield from leaves(field.default_factory, path + (field.name,))
    elif field.metadata.get('command_line', True):
      yield path + (field.name,), field


def flag_name(field: dataclasses.Field) -> str:
  return field.metadata.get('flag') or field.name


def _field_type(config_class: Type[Any], name: str):
  return typing.get_type_hints(config_class)[name]


def define_flags(flag_values, *config_classes: Type[Any],
                 only: Optional[Tuple[str, ...]] = None) -> None:
  """Defines one absl flag per setting of `config_classes` (shared settings once).

  Choices become `DEFINE_enum`, bounds absl's `lower_bound`/`upper_bound`; an
  exclusive bound is a validator. A default read from two places must agree.
  `only` limits the flags to these names (a tool that needs a few of them).
  """
  from absl import flags  # pylint: disable=g-import-not-at-top
  defined = {}
  for config_class in config_classes:
    for path, field in leaves(config_class):
      if only is not None and flag_name(field) not in only:
        continue
      owner = config_class
      for part in path[:-1]:
        owner = owner.__dataclass_fields__[part].default_factory
      name, default, meta = flag_name(field), field.default, field.metadata
      if name in defined:
        if defined[name] != default:
          raise ValueError(f'flag --{name} declared with defaults {defined[name]!r} '
                           f'and {default!r}')
        continue
      defined[name] = default
      kind = _field_type(owner, field.name)
      if meta.get('choices') and kind == Tuple[str, ...]:
        # A comma-separated list (absl's DEFINE_multi_enum wants the flag repeated).
        flags.DEFINE_list(name, list(default), meta['help'], flag_values=flag_values)
        choices = meta['choices']
        flags.register_validator(
            name, lambda value, choices=choices: bool(value) and all(
                item in choices for item in value),
            message=f'--{name}: expected one or more of {", ".join(choices)}, '
            'comma-separated', flag_values=flag_values)
      elif meta.get('choices'):
        flags.DEFINE_enum(name, default, meta['choices'], meta['help'],
                          flag_values=flag_values)
      elif kind is bool:
        flags.DEFINE_boolean(name, default, meta['help'], flag_values=flag_values)
      elif kind is int:
        flags.DEFINE_integer(name, default, meta['help'], lower_bound=meta['lower'],
                             upper_bound=meta['upper'], flag_values=flag_values)
      elif kind is float:
        flags.DEFINE_float(name, default, meta['help'], lower_bound=meta['lower'],
                           upper_bound=meta['upper'], flag_values=flag_values)
      elif kind == Tuple[str, ...]:
        flags.DEFINE_list(name, list(default), meta['help'], flag_values=flag_values)
      else:   # str, Optional[str]
        flags.DEFINE_string(name, default, meta['help'], flag_values=flag_values)
      if meta.get('above') is not None:
        bound = meta['above']
        flags.register_validator(
            name, lambda value, bound=bound: value is None or value > bound,
            message=f'--{name} must be > {bound:g}', flag_values=flag_values)


def from_flags(config_class: Type[Any], flag_values, **overrides) -> Any:
  """A config of `config_class` from parsed flags; `overrides` replace top fields."""
  def build(cls, path):
    kwargs = {}
    for field in dataclasses.fields(cls):
      if field.name in overrides and not path:
        kwargs[field.name] = overrides[field.name]
      elif field.metadata.get('nested'):
        kwargs[field.name] = build(field.default_factory, path + (field.name,))
      elif not field.metadata.get('command_line', True):
        continue                         # the default, unless overridden
      else:
        value = flag_values[flag_name(field)].value
        kind = _field_type(cls, field.name)
        kwargs[field.name] = tuple(value) if kind == Tuple[str, ...] else value
    return cls(**kwargs)
  return build(config_class, ())


def replace(config: Any, **changes) -> Any:
  """`dataclasses.replace` that also takes dotted paths: replace(c, **{'eval.every': 0})."""
  top, deep = {}, {}
  for key, value in changes.items():
    head, _, rest = key.partition('.')
    if rest:
      deep.setdefault(head, {})[rest] = value
    else:
      top[key] = value
  for head, sub in deep.items():
    top[head] = replace(getattr(config, head), **sub)
  return dataclasses.replace(config, **top)


def to_dict(config: Any) -> Dict[str, Any]:
  """A config as nested plain dicts (tuples as lists), for JSON."""
  return dataclasses.asdict(config, dict_factory=lambda items: {
      k: list(v) if isinstance(v, tuple) else v for k, v in items})


def check_video_path(path: str):
  """Raises ValueError (one line) unless `path` ends in a suffix `play` can encode."""
  if not path.lower().endswith(VIDEO_SUFFIXES):
    raise ValueError(f'--video={path}: expected a file ending in '
                     f'{" or ".join(VIDEO_SUFFIXES)}')


def from_dict(config_class: Type[Any], settings: Dict[str, Any]) -> Any:
  """A config from a run's recorded settings (its config.json).

  Takes `to_dict`'s nested form, and the flat form keyed by flag names that runs
  recorded before the settings were nested. Keys that are not settings (provenance,
  history) are ignored; settings not recorded take their defaults.
  """
  flat = {key: value for key, value in settings.items() if not isinstance(value, dict)}

  def build(cls, recorded):
    kwargs = {}
    for field in dataclasses.fields(cls):
      if field.metadata.get('nested'):
        kwargs[field.name] = build(field.default_factory,
                                   recorded.get(field.name) or {})
        continue
      if field.name in recorded:
        value = recorded[field.name]
      elif flag_name(field) in flat:
        value = flat[flag_name(field)]
      else:
        continue
      kwargs[field.name] = tuple(value) if isinstance(value, list) else value
    return cls(**kwargs)
  return build(config_class, settings)
