"""GP-SARSA as PyDial has it (Gašić & Young; Engel, Mannor & Meir 2005), in numpy.

Q is a Gaussian process over (observation, act) pairs with the kernel ``k((b, a), (b', a')) = <b, b'> * [a ==
a']``: a linear kernel on the observation times a delta kernel on the acts. The posterior is kept in the
sparse form of episodic GP-SARSA: a dictionary of (observation, act) points, the inverse Gram matrix of the
dictionary ``K_inv``, and the posterior weights ``alpha`` and ``C``, so that for a pair x with kernel vector
``k`` against the dictionary ``Q(x) ~ N(k . alpha, k(x, x) - k C k)``. A visited pair joins the dictionary only
when it is not approximately linearly dependent on it: its ALD residual ``k(x, x) - k K_inv k`` exceeds
``nu``. The updates are applied at the end of each training dialogue over its transitions, in order.

Acting: among the allowed acts only; during training each act's Q is sampled from the posterior with its
standard deviation scaled by ``scale`` and the best sample is taken, at test the best mean.

PyDial's defaults: ``gamma`` 1.0, ``sigma`` 5.0 (the noise), ``nu`` 0.001, ``scale`` 3 while training. What
differs from PyDial (see :func:`kernel`): PyDial's ``polysort`` belief kernel sorts each slot's belief
distribution descending before the dot product; our PyDial environments' observation is already a flat
feature vector (PyDial's summary features, not per-slot distributions), so the dot product is taken on it as
is. PyDial hands the whole dialogue's reward to the last transition and 0 to the others; we give each
transition its own reward, which with ``gamma`` 1 gives every pair the same return. Saved agents are
``gp.npz`` (numpy arrays only, loaded with ``allow_pickle=False``) next to ``agent.json``
(:func:`agents.rl.save_gp_agent`); :func:`agents.rl_training.train` trains it.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from dialog_gym.errors import ConfigError, PersistenceError

GP_FILE = "gp.npz"
#: the environment families whose acts are turn-level (one summary act per turn) and which GP-SARSA serves
TURN_LEVEL_ACTS = ("summary",)


def kernel(x: np.ndarray, y: np.ndarray) -> float:
    """The observation kernel: a plain dot product (PyDial's ``polysort`` sorts each slot's distribution first;
    see the module docstring)."""
    return float(np.dot(x, y))


class GPSarsa:
    """The GP-SARSA learner: dictionary, posterior and the episodic updates (module docstring)."""

    def __init__(self, n_actions: int, obs_dim: int, gamma: float = 1.0, sigma: float = 5.0, nu: float = 0.001,
                 scale: float = 3.0, seed: int = 0) -> None:
        self.n_actions, self.obs_dim = int(n_actions), int(obs_dim)
        self.gamma, self.sigma, self.nu, self.scale = float(gamma), float(sigma), float(nu), float(scale)
        self.points = np.zeros((0, self.obs_dim))           # the dictionary's observations
        self.acts = np.zeros(0, dtype=np.int64)              # and acts
        self.k_inv = np.zeros((0, 0))                        # inverse Gram matrix of the dictionary
        self.alpha = np.zeros(0)                             # posterior mean weights
        self.cov = np.zeros((0, 0))                          # posterior covariance weights (C)
        self.rng = np.random.default_rng(seed)
        self.num_timesteps = 0
        self._reset_episode()

    # -- the kernel against the dictionary ---------------------------------------------------------------
    def k_vector(self, obs: np.ndarray, act: int) -> np.ndarray:
        """``k((obs, act), d)`` for every dictionary point d."""
        return (self.points @ obs) * (self.acts == act)

    def self_kernel(self, obs: np.ndarray) -> float:
        return kernel(obs, obs)  # the delta kernel of an act with itself is 1

    def ald_residual(self, obs: np.ndarray, act: int) -> tuple[float, np.ndarray, np.ndarray]:
        """The approximate-linear-dependence test's residual ``k(x, x) - k K_inv k`` with ``K_inv k`` and ``k``."""
        k = self.k_vector(obs, act)
        coeffs = self.k_inv @ k
        return self.self_kernel(obs) - float(k @ coeffs), coeffs, k

    def q_posterior(self, obs: np.ndarray, acts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The posterior mean and variance of Q at ``obs`` for each of ``acts``."""
        base = self.points @ obs
        kxx = self.self_kernel(obs)
        means, variances = np.zeros(len(acts)), np.zeros(len(acts))
        for j, act in enumerate(acts):
            idx = np.flatnonzero(self.acts == act)
            k = base[idx]
            means[j] = float(k @ self.alpha[idx])
            variances[j] = max(kxx - float(k @ self.cov[np.ix_(idx, idx)] @ k), 0.0)
        return means, variances

    def act(self, obs: np.ndarray, mask: np.ndarray | None, explore: bool) -> int:
        """The allowed act with the best posterior sample (``explore``: std scaled by ``scale``) or mean."""
        allowed = np.arange(self.n_actions) if mask is None else np.flatnonzero(np.asarray(mask))
        if allowed.size == 0:
            raise ValueError("an action mask allows no action")
        means, variances = self.q_posterior(np.asarray(obs, dtype=np.float64), allowed)
        values = means
        if explore and self.scale > 0:
            values = means + self.scale * np.sqrt(variances) * self.rng.standard_normal(len(allowed))
        return int(allowed[int(np.argmax(values))])

    # -- learning ----------------------------------------------------------------------------------------
    def _reset_episode(self) -> None:
        self._a = np.zeros(len(self.acts))   # K_inv k of the current pair
        self._c = np.zeros(len(self.acts))
        self._d = 0.0
        self._s = math.inf

    def _grow(self, obs: np.ndarray, act: int, coeffs: np.ndarray, delta: float) -> None:
        """Add (obs, act) to the dictionary: the inverse Gram matrix by the partitioned inverse, the
        posterior weights padded with zeros."""
        n = len(self.acts)
        k_inv = np.zeros((n + 1, n + 1))
        k_inv[:n, :n] = self.k_inv + np.outer(coeffs, coeffs) / delta
        k_inv[:n, n] = k_inv[n, :n] = -coeffs / delta
        k_inv[n, n] = 1.0 / delta
        self.k_inv = k_inv
        self.points = np.vstack([self.points, obs[None, :]])
        self.acts = np.append(self.acts, act)
        self.alpha = np.append(self.alpha, 0.0)
        cov = np.zeros((n + 1, n + 1))
        cov[:n, :n] = self.cov
        self.cov = cov

    def learn_episode(self, observations: list[np.ndarray], actions: list[int], rewards: list[float]) -> None:
        """The GP-SARSA updates of one finished dialogue: ``observations[t]`` where ``actions[t]`` was taken
        and ``rewards[t]`` received; the dialogue ended after the last act."""
        if not (len(observations) == len(actions) == len(rewards)) or not actions:
            raise ValueError("a dialogue needs as many observations, actions and rewards, at least one")
        obs = [np.asarray(o, dtype=np.float64).reshape(self.obs_dim) for o in observations]
        for t in range(len(actions)):
            terminal = t == len(actions) - 1
            self.step(obs[t], int(actions[t]), float(rewards[t]), None if terminal else obs[t + 1],
                      None if terminal else int(actions[t + 1]), initial=t == 0)
        self.num_timesteps += len(actions)

    def step(self, prev_obs: np.ndarray, prev_act: int, reward: float, obs: np.ndarray | None, act: int | None,
             initial: bool) -> None:
        """One transition (prev_obs, prev_act) -r-> (obs, act); ``obs`` None: the dialogue ended."""
        g, s2 = self.gamma, self.sigma ** 2
        if len(self.acts) == 0:
            kxx = self.self_kernel(prev_obs)
            if kxx <= self.nu:
                return  # nothing to learn from a zero observation
            self._grow(prev_obs, prev_act, np.zeros(0), kxx)
            self._reset_episode()
            self._a = np.zeros(1)
            self._a[0] = 1.0
            initial = True
        elif initial:
            self._reset_episode()
            delta, coeffs, _ = self.ald_residual(prev_obs, prev_act)
            self._a = coeffs
            if delta > self.nu:
                self._grow(prev_obs, prev_act, coeffs, delta)
                self._a = np.zeros(len(self.acts))
                self._a[-1] = 1.0
                self._c = np.zeros(len(self.acts))
        k_prev = self.k_vector(prev_obs, prev_act)
        if obs is None or act is None:
            a_new, delta_new, dk = np.zeros(len(self.acts)), 0.0, k_prev
            k_new = np.zeros(len(self.acts))
        else:
            delta_new, a_new, k_new = self.ald_residual(obs, act)
            dk = k_prev - g * k_new
        carry = 0.0 if initial else g * s2 / self._s   # the coupling to the previous transition
        self._d = reward + carry * self._d - float(dk @ self.alpha)
        if obs is not None and act is not None and delta_new > self.nu:
            a_old = self._a
            dk_new = float(a_old @ (k_prev - 2.0 * g * k_new)) + g * g * self.self_kernel(obs)
            cdk = self.cov @ dk
            c_new = a_old - cdk + carry * self._c
            s_new = (1.0 + g * g) * s2 + dk_new - float(dk @ cdk)
            if not initial:
                s_new += (2.0 * float(self._c @ dk) - g * s2) * g * s2 / self._s
            self._grow(obs, act, a_new, delta_new)
            self._c = np.append(c_new, -g)
            self._a = np.zeros(len(self.acts))
            self._a[-1] = 1.0
            self._s = s_new
        else:
            h = self._a - g * a_new
            c_new = carry * self._c + h - self.cov @ dk
            s_new = (1.0 + (0.0 if obs is None else g * g)) * s2 + float(dk @ (c_new + carry * self._c))
            if not initial:
                s_new -= g * g * s2 * s2 / self._s
            self._c, self._s, self._a = c_new, s_new, a_new
        self.alpha = self.alpha + self._c * (self._d / self._s)
        self.cov = self.cov + np.outer(self._c, self._c) / self._s

    # -- persistence -------------------------------------------------------------------------------------
    def arrays(self) -> dict[str, np.ndarray]:
        return {"points": self.points, "acts": self.acts, "k_inv": self.k_inv, "alpha": self.alpha,
                "cov": self.cov}

    def settings(self) -> dict[str, Any]:
        return {"n_actions": self.n_actions, "obs_dim": self.obs_dim, "gamma": self.gamma, "sigma": self.sigma,
                "nu": self.nu, "scale": self.scale}

    def load_arrays(self, arrays: Mapping[str, np.ndarray], where: str) -> None:
        n = len(arrays["acts"])
        shapes = {"points": (n, self.obs_dim), "acts": (n,), "k_inv": (n, n), "alpha": (n,), "cov": (n, n)}
        for key, shape in shapes.items():
            if arrays[key].shape != shape:
                raise PersistenceError(f"{where}: {key} has shape {arrays[key].shape}, expected {shape}")
        self.points = np.asarray(arrays["points"], dtype=np.float64)
        self.acts = np.asarray(arrays["acts"], dtype=np.int64)
        self.k_inv = np.asarray(arrays["k_inv"], dtype=np.float64)
        self.alpha = np.asarray(arrays["alpha"], dtype=np.float64)
        self.cov = np.asarray(arrays["cov"], dtype=np.float64)
        self._reset_episode()


def settings_keys() -> set[str]:
    """The hyperparameters a ``gp_sarsa.yml`` entry may set."""
    return set(inspect.signature(GPSarsa).parameters) - {"n_actions", "obs_dim", "seed"}


class GPSarsaAgent:
    """A :class:`GPSarsa` under the agent contract: the best posterior mean among ``info["action_mask"]``."""

    def __init__(self, learner: GPSarsa, explore: bool = False) -> None:
        self.learner = learner
        self.explore = explore

    def __call__(self, obs: np.ndarray, info: Mapping[str, Any]) -> int:
        return self.learner.act(obs, info.get("action_mask"), self.explore)

    def action_probabilities(self, obs: np.ndarray, info: Mapping[str, Any]) -> np.ndarray:
        """All probability on the chosen act (GP-SARSA ranks by its posterior mean, not a distribution)."""
        probs = np.zeros(self.learner.n_actions)
        probs[self(obs, info)] = 1.0
        return probs


def check_turn_level(env_id: str, env_kwargs: Mapping[str, Any] | None = None) -> None:
    """Refuse an environment whose acts are not turn-level summary acts (one line: why)."""
    from dialog_gym.envs import EnvRef

    family = EnvRef(env_id, dict(env_kwargs or {})).family()
    if family is not None and family.acts not in TURN_LEVEL_ACTS:
        raise ConfigError(f"gp_sarsa runs on the turn-level families (pydial, summary), but {env_id} is a "
                          f"{family.name} task whose actions are its domain's; use a PyDial or summary-act id")
