"""A2C as a tf-agents `TFAgent`, with the paper's attention variants.

tf-agents ships no A2C (its PPO always normalises advantages, which A2C does not), so
this agent implements Mnih et al. (2016)'s synchronous advantage actor-critic:
n-step returns bootstrapped from V at the rollout's end, policy-gradient, value and
entropy terms, one RMSprop step with gradient-norm clipping per rollout.

Variants (paper, "Attention-Aware Reinforcement Learning"):
  baseline  no mask.
  joint     the mask multiplies the actor-critic's features and is trained together
            with it: the RL loss reaches Psi, and L_mask on pairs of the agent's own
            recent frames trains the whole attention module. `mask.update`:
            'separate' (authors' code: Adam on L_mask, RMSprop on L_RL) or 'summed'
            (one RMSprop step on L_RL + mask.loss_weight * L_mask, the paper's text).
  frozen    a pre-trained mask, never updated.

Experience: a `Trajectory` of shape [N, T + 1]: the T steps of a rollout plus one
more item whose observation and step type are those the rollout ended in (the
bootstrap state; its action, reward, discount and policy info are ignored). The
frozen variant's policy info holds the masks the rollout acted with, which the
learner reuses rather than computing them again.
"""

from typing import Dict, List, NamedTuple, Optional

import tensorflow as tf
import tensorflow_probability as tfp
from tf_agents.agents import tf_agent
from tf_agents.policies import greedy_policy
from tf_agents.policies import tf_policy
from tf_agents.trajectories import policy_step
from tf_agents.trajectories import time_step as ts
from tf_agents.trajectories import trajectory
from tf_agents.utils import value_ops

from saarl_tf import config as config_lib
from saarl_tf.agents import fused_optimizers
from saarl_tf.agents import recent_frames
from saarl_tf.models import actor_critic
from saarl_tf.models import attention
from saarl_tf.models import geometry


def _without(variables, excluded):
  excluded_ids = {id(v) for v in excluded}
  return [v for v in variables if id(v) not in excluded_ids]


class A2CTargets(NamedTuple):
  """Per-step learning targets, each float32 [N, T].

  returns: n-step returns R_t.
  advantages: R_t - V(x_t), zero where `weights` is zero.
  weights: 1 for steps that are real decisions, 0 for boundary steps (LAST -> FIRST,
    whose action the environment ignores).
  """
  returns: tf.Tensor
  advantages: tf.Tensor
  weights: tf.Tensor


def n_step_targets(rewards: tf.Tensor, discounts: tf.Tensor, step_types: tf.Tensor,
                   values: tf.Tensor, bootstrap_value: tf.Tensor,
                   gamma: float) -> A2CTargets:
  """n-step returns cut at terminations and bootstrapped through truncations.

  Step t of the rollout acts in x_t and receives rewards[t]; discounts[t] is the
  discount of the step it lands in (0 if that step terminates the episode, 1 if it
  truncates it or the episode goes on). A step whose own step type is LAST is a
  boundary: the environment resets after it, so the return of the step before it
  must stop there, bootstrapping from V of that last state (times its discount).

  R_t = r_t + gamma d_t R_{t+1},  with R_{t+1} := V(x_{t+1}) when t+1 is a boundary
  and R_T := V(x_T) at the end of the rollout.

  Args:
    rewards, discounts: float32 [N, T].
    step_types: int32 [N, T], tf-agents step types of x_t.
    values: float32 [N, T], V(x_t).
    bootstrap_value: float32 [N], V(x_T) of the state the rollout ended in.
    gamma: the discount factor.

  Returns:
    `A2CTargets`.
  """
  boundary = tf.equal(step_types, ts.StepType.LAST)
  values = tf.stop_gradient(values)
  # A boundary step returns exactly its value: reward := V, discount := 0.
  returns = value_ops.discounted_return(
      rewards=tf.where(boundary, values, rewards),
      discounts=tf.where(boundary, 0.0, gamma * discounts),
      final_value=tf.stop_gradient(bootstrap_value),
      time_major=False)
  weights = tf.cast(~boundary, tf.float32)
  return A2CTargets(returns, (returns - values) * weights, weights)


# The policy info of `ActorCriticPolicy`: what its forward pass computed besides the
# action, so that a learner can use the rollout's own forward passes.
LOGITS_INFO, VALUE_INFO, MASK_INFO = 'logits', 'value', 'mask'


class ActorCriticPolicy(tf_policy.TFPolicy):
  """Samples actions from the actor-critic's categorical policy pi(a | x).

  The policy info carries the forward pass it acted with: {'logits': float32 [B, A],
  'value': float32 [B]} and, for a network with attention, 'mask': float32
  [B, 7, 7]. With `stop_mask_gradient`, the features see the mask as a fixed input
  (the joint variant with --mask_rl_gradient=false).
  """

  def __init__(self, time_step_spec, action_spec,
               network: actor_critic.ActorCriticNetwork,
               stop_mask_gradient: bool = False, name: str = 'a2c_policy'):
    num_actions = int(action_spec.maximum - action_spec.minimum) + 1
    info_spec = {LOGITS_INFO: tf.TensorSpec([num_actions], tf.float32,
                                            name=LOGITS_INFO),
                 VALUE_INFO: tf.TensorSpec([], tf.float32, name=VALUE_INFO)}
    if network.attention_module is not None:
      info_spec[MASK_INFO] = tf.TensorSpec(
          [geometry.MASK_SIZE, geometry.MASK_SIZE], tf.float32, name=MASK_INFO)
    super().__init__(time_step_spec, action_spec, info_spec=info_spec, name=name)
    self._network = network
    self._stop_mask_gradient = stop_mask_gradient

  def _variables(self):
    return self._network.variables

  def _distribution(self, time_step, policy_state):
    mask = self._network.mask(time_step.observation)
    if mask is not None and self._stop_mask_gradient:
      mask = tf.stop_gradient(mask)
    logits, value, mask = self._network.forward(time_step.observation, mask)
    info = {LOGITS_INFO: logits, VALUE_INFO: value}
    if mask is not None:
      info[MASK_INFO] = mask
    return policy_step.PolicyStep(
        tfp.distributions.Categorical(logits=logits, dtype=self.action_spec.dtype),
        policy_state, info)


def pytorch_rmsprop(settings: config_lib.RMSpropConfig) -> tf.keras.optimizers.RMSprop:
  """Keras RMSprop that steps as PyTorch's (the authors' code) does.

  Keras divides by sqrt(v + eps), PyTorch by sqrt(v) + eps. With eps = 1e-5 Keras'
  floor of 3e-3 shrinks small gradients' steps ~100-fold and A2C barely learns
  (docs/ARCHITECTURE.md, "Measured design choices"); eps^2 inside the root gives
  PyTorch's floor, within a factor sqrt(2) where sqrt(v) ~ eps and exactly elsewhere.
  Each step is one fused kernel (`fused_optimizers`).
  """
  return fused_optimizers.FusedRMSprop(
      settings.learning_rate, rho=settings.decay, epsilon=settings.epsilon ** 2,
      global_clipnorm=settings.clip_norm)


def mask_adam(settings: config_lib.AdamConfig) -> tf.keras.optimizers.Adam:
  """The attention module's Adam on L_mask (authors' code: 1e-3, clip 0.5), each
  step one fused kernel (`fused_optimizers`)."""
  return fused_optimizers.FusedAdam(settings.learning_rate,
                                    global_clipnorm=settings.clip_norm)


def _check_arguments(variant: str, network: actor_critic.ActorCriticNetwork,
                     mask: Optional[config_lib.JointMaskConfig],
                     mask_optimizer: Optional[tf.keras.optimizers.Optimizer]):
  """Raises ValueError (one line) for a variant, network, mask settings and
  optimizers that disagree."""
  if variant not in config_lib.VARIANTS:
    raise ValueError(f'unknown A2C variant {variant!r}; expected one of '
                     f'{config_lib.VARIANTS}')
  if (variant == config_lib.BASELINE) != (network.attention_module is None):
    raise ValueError(f'variant {variant!r} needs a network '
                     f'{"without" if variant == config_lib.BASELINE else "with"} an '
                     'attention module')
  if variant == config_lib.JOINT and mask is None:
    raise ValueError("the joint variant needs its mask settings (mask=)")
  if (variant == config_lib.JOINT and mask.update == config_lib.SEPARATE
      and mask_optimizer is None):
    raise ValueError("mask update 'separate' needs a mask_optimizer (mask_adam)")


def _rl_variables(network: actor_critic.ActorCriticNetwork, variant: str,
                  mask: Optional[config_lib.JointMaskConfig]) -> List[tf.Variable]:
  """The variables L_RL's optimizer steps: no attention variable for baseline and
  frozen, nor for a separate mask update without the RL gradient into Psi
  (mask.rl_gradient false); Psi's but not Phi's or the decoder's for a separate
  update with it (RMSprop then holds no slots for them); all of them when L_mask is
  summed into L_RL."""
  attention_variables = (network.attention_module.trainable_variables
                         if network.attention_module is not None else [])
  if variant != config_lib.JOINT:
    return _without(network.trainable_variables, attention_variables)
  if mask.update == config_lib.SUMMED:
    return network.trainable_variables
  if not mask.rl_gradient:
    return _without(network.trainable_variables, attention_variables)
  return _without(network.trainable_variables, _without(
      attention_variables, network.attention_module.mask_generator.trainable_variables))


class A2CAgent(tf_agent.TFAgent):
  """Synchronous advantage actor-critic with an optional attention mask."""

  def __init__(self,
               time_step_spec,
               action_spec,
               network: actor_critic.ActorCriticNetwork,
               optimizer: tf.keras.optimizers.Optimizer,
               variant: str,
               loss: config_lib.A2CLossConfig,
               num_envs: int,
               mask: Optional[config_lib.JointMaskConfig] = None,
               mask_optimizer: Optional[tf.keras.optimizers.Optimizer] = None,
               seed: int = 0,
               train_step_counter: Optional[tf.Variable] = None):
    """Creates the agent.

    Args:
      time_step_spec, action_spec: the environment's (tensor) specs.
      network: the actor-critic; must hold an attention module unless `baseline`.
      optimizer: steps L_RL (`pytorch_rmsprop`), and L_mask too with
        `mask.update == 'summed'`.
      variant: 'baseline', 'joint' or 'frozen' (module docstring).
      loss: L_RL's discount and weights.
      num_envs: N, the rollouts' batch size (the joint variant's frame ring).
      mask: the joint variant's L_mask training; required for `joint`.
      mask_optimizer: steps L_mask (`mask_adam`); required for `joint` with
        `mask.update == 'separate'`.
      seed: seeds the pair sampler.
      train_step_counter: counts updates; created if None.

    Raises:
      ValueError: a variant, network, mask settings and optimizers that disagree.
    """
    _check_arguments(variant, network, mask, mask_optimizer)
    separate = variant == config_lib.JOINT and mask.update == config_lib.SEPARATE
    # tf.Module must be set up before attributes holding variables are assigned;
    # TFAgent.__init__ below needs the policies, which need the network first.
    tf.Module.__init__(self, name='A2CAgent')
    self._network = network
    self._variant = variant
    self._loss = loss
    self._mask = mask
    network.create_variables(time_step_spec.observation)
    if network.attention_module is not None:
      network.attention_module.create_variables()   # the decoder too

    attention_variables = (network.attention_module.trainable_variables
                           if network.attention_module is not None else [])
    self._attention_variables = attention_variables
    self._stop_rl_gradient = variant == config_lib.JOINT and not mask.rl_gradient
    self._rl_variables = _rl_variables(network, variant, mask)
    self.optimizer = optimizer
    self.optimizer.build(self._rl_variables)
    self.mask_optimizer = mask_optimizer if separate else None
    self.recent_frames = None
    if variant == config_lib.JOINT:
      self.recent_frames = recent_frames.RecentFrames(
          num_envs, mask.recent_frames, seed=seed)
      if separate:
        self.mask_optimizer.build(attention_variables)

    # A frozen mask is a pure function of the observation: recomputing the forward
    # pass, the learner takes the rollout's masks from the policy info.
    self._reuse_rollout_masks = variant == config_lib.FROZEN
    collect_policy = ActorCriticPolicy(time_step_spec, action_spec, network,
                                       stop_mask_gradient=self._stop_rl_gradient,
                                       name='collect_policy')
    policy = greedy_policy.GreedyPolicy(collect_policy, name='greedy_policy')
    super().__init__(time_step_spec, action_spec, policy, collect_policy,
                     train_sequence_length=None,
                     train_step_counter=train_step_counter)

  def _initialize(self):
    return tf.no_op()

  def network_checkpoint(self) -> tf.train.Checkpoint:
    """The network's variables as the agent's checkpoints hold them (under `agent=`),
    without the optimizers: acting needs no slots, and slots differ between
    optimizer versions (Keras' RMSprop then the fused one)."""
    return tf.train.Checkpoint(_rl_variables=self._rl_variables,
                               _attention_variables=self._attention_variables)

  @property
  def trains_mask(self) -> bool:
    """Whether the agent trains L_mask (the joint variant)."""
    return self._variant == config_lib.JOINT

  def rl_loss(self, experience: trajectory.Trajectory,
              taped_outputs: bool = False) -> Dict[str, tf.Tensor]:
    """L_RL of a rollout and what to log about it.

    Args:
      experience: `Trajectory` [N, T + 1] (module docstring).
      taped_outputs: whether the policy info holds the forward pass each step acted
        with (`ActorCriticPolicy`'s info, [N, T + 1]), computed with these weights on
        the gradient tape this loss is taken under (`training.rollout`): they are
        used as they are. Otherwise the forward pass is computed here.

    Returns:
      float32 scalars: 'policy', 'value', 'entropy', 'rl_total', 'advantage_mean',
      'return_mean' and, with a mask, 'rollout_mask_mean'.
    """
    if taped_outputs:
      info = experience.policy_info
      logits, values = info[LOGITS_INFO], info[VALUE_INFO]
      mask = info.get(MASK_INFO)
    else:
      logits, values, mask = self._forward(experience)
    logits = logits[:, :-1]
    targets = n_step_targets(
        experience.reward[:, :-1], experience.discount[:, :-1],
        experience.step_type[:, :-1], values[:, :-1], values[:, -1],
        self._loss.gamma)
    distribution = tfp.distributions.Categorical(logits=logits)
    num_valid = tf.maximum(tf.reduce_sum(targets.weights), 1.0)
    mean = lambda x: tf.reduce_sum(x * targets.weights) / num_valid
    policy_loss = -mean(distribution.log_prob(experience.action[:, :-1])
                        * tf.stop_gradient(targets.advantages))
    value_loss = mean(tf.square(targets.returns - values[:, :-1]))
    entropy = mean(distribution.entropy())
    total = (policy_loss + self._loss.value_coefficient * value_loss
             - self._loss.entropy_coefficient * entropy)
    losses = {'policy': policy_loss, 'value': value_loss, 'entropy': entropy,
              'rl_total': total, 'advantage_mean': mean(targets.advantages),
              'return_mean': mean(targets.returns)}
    if mask is not None:
      losses['rollout_mask_mean'] = tf.reduce_mean(mask)
    return losses

  def _forward(self, experience: trajectory.Trajectory):
    """(logits, values, mask) of the experience's observations [N, T + 1]: a frozen
    mask from the policy info where the rollout recorded it."""
    known_mask = None
    if self._stop_rl_gradient:
      observations = experience.observation
      flat = tf.reshape(observations, tf.concat([[-1], tf.shape(observations)[2:]], 0))
      known_mask = tf.stop_gradient(self._network.mask(flat))
    if self._reuse_rollout_masks and MASK_INFO in experience.policy_info:
      bootstrap_mask = self._network.mask(experience.observation[:, -1])
      known_mask = tf.concat([experience.policy_info[MASK_INFO][:, :-1],
                              bootstrap_mask[:, None]], axis=1)
    return self._network.forward(experience.observation, known_mask)

  def mask_loss(self):
    """L_mask on pairs of each env's recent frames, and its parts."""
    source, target = self.recent_frames.sample_pairs(self._mask.pairs or None)
    outputs = self._network.attention_module((source, target), training=True)
    return attention.mask_loss(target, outputs, self._mask.mask_loss.delta,
                               self._mask.mask_loss.sparsity_weight)

  def _train(self, experience, weights=None):
    """tf-agents' `train`: the forward pass computed anew, then `apply_gradients`."""
    del weights  # every step of a rollout counts once
    with tf.GradientTape(persistent=self.trains_mask) as tape:
      losses = self.loss(experience)
    return self.apply_gradients(tape, losses)

  def loss(self, experience: trajectory.Trajectory,
           taped_outputs: bool = False) -> Dict[str, tf.Tensor]:
    """L_RL and, for the joint variant, L_mask on pairs of recent frames (whose ring
    takes the rollout's frames first); 'total' is what the RL optimizer minimises.

    Call under the `tf.GradientTape` that `apply_gradients` is given (persistent
    for the joint variant: two gradients are taken). `taped_outputs`: `rl_loss`.
    """
    if self.trains_mask:
      self.recent_frames.add(experience.observation[:, :-1])
    losses = self.rl_loss(experience, taped_outputs)
    total = losses['rl_total']
    if self.trains_mask:
      mask_losses = self.mask_loss()
      losses.update({f'mask_{k}': v for k, v in mask_losses.items()})
      if self._mask.update == config_lib.SUMMED:
        total += self._mask_on() * self._mask.loss_weight * mask_losses['total']
    losses['total'] = total
    return losses

  def _mask_on(self) -> tf.Tensor:
    """float32 1 once L_mask trains (mask.start_update), else 0."""
    return tf.cast(self.train_step_counter >= self._mask.start_update, tf.float32)

  def apply_gradients(self, tape: tf.GradientTape,
                      losses: Dict[str, tf.Tensor]) -> tf_agent.LossInfo:
    """One optimizer step on `losses['total']` (RMSprop) and, for a separate mask
    update, one on L_mask (Adam, from mask.start_update); counts the update."""
    gradients = tape.gradient(losses['total'], self._rl_variables)
    self.optimizer.apply_gradients(zip(gradients, self._rl_variables))
    if self.trains_mask and self._mask.update == config_lib.SEPARATE:
      mask_gradients = tape.gradient(losses['mask_total'], self._attention_variables)

      def mask_step():
        self.mask_optimizer.apply_gradients(
            zip(mask_gradients, self._attention_variables))
        return tf.constant(True)
      tf.cond(self._mask_on() > 0, mask_step, lambda: tf.constant(False))
    self.train_step_counter.assign_add(1)
    return tf_agent.LossInfo(loss=losses['total'], extra=losses)
