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


def rank_update(cov: np.ndarray, left: np.ndarray, right: np.ndarray) -> None:
    """``cov += left @ right.T`` in place. With torch (the ``rl`` extra) in its threads (the benchmark cell's: one),
    since numpy's OpenBLAS starts a thread per core for the product, which on a busy machine spins; else in
    numpy, a block of rows at a time (no temporary of C's size)."""
    try:
        import torch
    except ImportError:
        for start in range(0, len(cov), 512):
            cov[start:start + 512] += left[start:start + 512] @ right.T
        return
    torch.from_numpy(cov).addmm_(torch.from_numpy(left), torch.from_numpy(right).T)


class GPSarsa:
    """The GP-SARSA learner: dictionary, posterior and the episodic updates (module docstring).

    Kept for speed (the algebra is the dense one; ``tests/test_gp_sarsa.py`` checks it against a dense
    reference): the kernel is zero between points of different acts, so the Gram matrix and its inverse are
    block-diagonal by act and a kernel vector is nonzero on one act's points only; ``K_inv`` is kept per act,
    and products with ``C`` read only those points' rows. Within a dialogue ``C`` is updated lazily: the
    dialogue's rank-one updates ``c c^T / s`` are kept and applied together at its end, one matrix product
    instead of one pass over ``C`` per turn (for a dictionary of thousands of points, as on LAP, the pass was
    the whole cost). The posterior's per-act blocks of ``C`` are cached between updates."""

    def __init__(self, n_actions: int, obs_dim: int, gamma: float = 1.0, sigma: float = 5.0, nu: float = 0.001,
                 scale: float = 3.0, seed: int = 0) -> None:
        self.n_actions, self.obs_dim = int(n_actions), int(obs_dim)
        self.gamma, self.sigma, self.nu, self.scale = float(gamma), float(sigma), float(nu), float(scale)
        self.rng = np.random.default_rng(seed)
        self.num_timesteps = 0
        self._clear()

    def _clear(self) -> None:
        """An empty dictionary and posterior."""
        self.points = np.zeros((0, self.obs_dim))            # the dictionary's observations
        self.acts = np.zeros(0, dtype=np.int64)              # and acts
        self.alpha = np.zeros(0)                             # posterior mean weights
        self.cov = np.zeros((0, 0))                          # posterior covariance weights (C)
        self._members: dict[int, np.ndarray] = {}            # act -> its points' indices, in order
        self._act_points: dict[int, np.ndarray] = {}         # act -> its points' observations (rows)
        self._k_inv: dict[int, np.ndarray] = {}              # act -> the inverse Gram matrix of its points
        self._blocks: dict[int, np.ndarray] = {}             # act -> C restricted to its points (a cache)
        self._pending: list[tuple[np.ndarray, float]] = []   # this dialogue's rank-one updates of C, not applied
        self._in_episode = False                             # inside learn_episode: C's updates wait for its end
        self._reset_episode()

    @property
    def k_inv(self) -> np.ndarray:
        """The inverse Gram matrix of the whole dictionary (block-diagonal by act), assembled."""
        n = len(self.acts)
        full = np.zeros((n, n))
        for act, idx in self._members.items():
            full[np.ix_(idx, idx)] = self._k_inv[act]
        return full

    # -- the kernel against the dictionary ---------------------------------------------------------------
    def k_vector(self, obs: np.ndarray, act: int) -> np.ndarray:
        """``k((obs, act), d)`` for every dictionary point d."""
        k = np.zeros(len(self.acts))
        if act in self._members:
            k[self._members[act]] = self._act_points[act] @ obs
        return k

    def self_kernel(self, obs: np.ndarray) -> float:
        return kernel(obs, obs)  # the delta kernel of an act with itself is 1

    def _ald(self, obs: np.ndarray, act: int) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
        """The ALD residual ``k(x, x) - k K_inv k`` and, on the act's points (indices ``idx``), ``K_inv k`` and
        ``k``: ``(residual, coeffs, k, idx)``."""
        idx = self._members.get(act)
        if idx is None:
            empty = np.zeros(0)
            return self.self_kernel(obs), empty, empty, np.zeros(0, dtype=np.int64)
        k = self._act_points[act] @ obs
        coeffs = self._k_inv[act] @ k
        return self.self_kernel(obs) - float(k @ coeffs), coeffs, k, idx

    def ald_residual(self, obs: np.ndarray, act: int) -> tuple[float, np.ndarray, np.ndarray]:
        """The approximate-linear-dependence test's residual ``k(x, x) - k K_inv k`` with ``K_inv k`` and ``k``
        (over the whole dictionary)."""
        residual, coeffs, k, idx = self._ald(obs, act)
        n = len(self.acts)
        full_coeffs, full_k = np.zeros(n), np.zeros(n)
        full_coeffs[idx], full_k[idx] = coeffs, k
        return residual, full_coeffs, full_k

    def _block(self, act: int) -> np.ndarray:
        """C restricted to ``act``'s points (cached until C changes)."""
        block = self._blocks.get(act)
        if block is None:
            idx = self._members[act]
            block = self._blocks[act] = self.cov[np.ix_(idx, idx)]
        return block

    def q_posterior(self, obs: np.ndarray, acts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The posterior mean and variance of Q at ``obs`` for each of ``acts``."""
        kxx = self.self_kernel(obs)
        means, variances = np.zeros(len(acts)), np.full(len(acts), kxx)
        for j, act in enumerate(acts.tolist()):
            idx = self._members.get(act)
            if idx is None:
                continue
            k = self._act_points[act] @ obs
            means[j] = float(k @ self.alpha[idx])
            variances[j] = max(kxx - float(k @ self._block(act) @ k), 0.0)
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
        n = len(self.acts)
        self._a = np.zeros(n)   # K_inv k of the current pair
        self._c = np.zeros(n)
        self._d = 0.0
        self._s = math.inf

    def _grow(self, obs: np.ndarray, act: int, coeffs: np.ndarray, delta: float) -> None:
        """Add (obs, act) to the dictionary: the act's inverse Gram matrix by the partitioned inverse (``coeffs``:
        ``K_inv k`` on the act's points, or over the whole dictionary), the posterior weights padded with
        zeros (C's new row and column are zero: they join C when the dialogue's updates are applied)."""
        n = len(self.acts)
        idx = self._members.get(act, np.zeros(0, dtype=np.int64))
        if len(coeffs) != len(idx):
            coeffs = coeffs[idx]
        m = len(idx)
        k_inv = np.zeros((m + 1, m + 1))
        if m:
            k_inv[:m, :m] = self._k_inv[act] + np.outer(coeffs, coeffs) / delta
        k_inv[:m, m] = k_inv[m, :m] = -coeffs / delta
        k_inv[m, m] = 1.0 / delta
        self._k_inv[act] = k_inv
        self._members[act] = np.append(idx, n)
        self._act_points[act] = np.vstack([self._act_points.get(act, np.zeros((0, self.obs_dim))), obs[None, :]])
        self.points = np.vstack([self.points, obs[None, :]])
        self.acts = np.append(self.acts, act)
        self.alpha = np.append(self.alpha, 0.0)
        if not self._in_episode:  # outside a dialogue's updates: C grows at once
            self._apply_pending()

    def _cov_times(self, v: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """``C @ x`` for the vector x that is ``v`` on the points ``idx`` and zero elsewhere, with the
        dialogue's pending updates (C is symmetric: its rows ``idx`` are read)."""
        n = len(self.acts)
        out = np.zeros(n)
        m = len(self.cov)
        inside = idx < m
        if inside.any():
            out[:m] = v[inside] @ self.cov[idx[inside]]
        for u, s in self._pending:
            out[:len(u)] += u * (float(u[idx[idx < len(u)]] @ v[idx < len(u)]) / s)
        return out

    def _apply_pending(self) -> None:
        """Apply the dialogue's rank-one updates to C (grown to the dictionary's size), all in one product."""
        n, m = len(self.acts), len(self.cov)
        if m < n:
            cov = np.zeros((n, n))
            cov[:m, :m] = self.cov
            self.cov = cov
        if self._pending:
            u = np.zeros((n, len(self._pending)))
            for j, (c, _) in enumerate(self._pending):
                u[:len(c), j] = c
            scaled = u / np.array([s for _, s in self._pending])
            rank_update(self.cov, scaled, u)
        self._pending = []
        self._blocks = {}

    def learn_episode(self, observations: list[np.ndarray], actions: list[int], rewards: list[float]) -> None:
        """The GP-SARSA updates of one finished dialogue: ``observations[t]`` where ``actions[t]`` was taken
        and ``rewards[t]`` received; the dialogue ended after the last act."""
        if not (len(observations) == len(actions) == len(rewards)) or not actions:
            raise ValueError("a dialogue needs as many observations, actions and rewards, at least one")
        obs = [np.asarray(o, dtype=np.float64).reshape(self.obs_dim) for o in observations]
        self._in_episode = True
        try:
            for t in range(len(actions)):
                terminal = t == len(actions) - 1
                self.step(obs[t], int(actions[t]), float(rewards[t]), None if terminal else obs[t + 1],
                          None if terminal else int(actions[t + 1]), initial=t == 0)
        finally:
            self._in_episode = False
            self._apply_pending()
        self.num_timesteps += len(actions)

    def step(self, prev_obs: np.ndarray, prev_act: int, reward: float, obs: np.ndarray | None, act: int | None,
             initial: bool) -> None:
        """One transition (prev_obs, prev_act) -r-> (obs, act); ``obs`` None: the dialogue ended. The kernel
        vectors are kept on their act's points (``*_idx``); ``_a``, ``_c`` and ``alpha`` are dense."""
        g, s2 = self.gamma, self.sigma ** 2
        if len(self.acts) == 0:
            kxx = self.self_kernel(prev_obs)
            if kxx <= self.nu:
                return  # nothing to learn from a zero observation
            self._grow(prev_obs, prev_act, np.zeros(0), kxx)
            self._reset_episode()
            self._a[0] = 1.0
            initial = True
        elif initial:
            self._reset_episode()
            delta, coeffs, _, idx = self._ald(prev_obs, prev_act)
            self._a[idx] = coeffs
            if delta > self.nu:
                self._grow(prev_obs, prev_act, coeffs, delta)
                self._a = np.zeros(len(self.acts))
                self._a[-1] = 1.0
                self._c = np.zeros(len(self.acts))
        prev_idx = self._members[prev_act] if prev_act in self._members else np.zeros(0, dtype=np.int64)
        k_prev = self._act_points[prev_act] @ prev_obs if len(prev_idx) else np.zeros(0)
        n = len(self.acts)
        # dk = k_prev - g k_new, kept as values on indices (the two acts' points; an index may repeat: sums)
        if obs is None or act is None:
            delta_new, a_new, k_new, new_idx = 0.0, np.zeros(0), np.zeros(0), np.zeros(0, dtype=np.int64)
        else:
            delta_new, a_new, k_new, new_idx = self._ald(obs, act)
        dk_idx = np.concatenate([prev_idx, new_idx])
        dk_val = np.concatenate([k_prev, -g * k_new])
        dk_alpha = float(dk_val @ self.alpha[dk_idx])
        carry = 0.0 if initial else g * s2 / self._s   # the coupling to the previous transition
        self._d = reward + carry * self._d - dk_alpha
        cdk = self._cov_times(dk_val, dk_idx)
        c_dk = float(self._c[dk_idx] @ dk_val)          # c . dk with the previous c
        if obs is not None and act is not None and delta_new > self.nu:
            a_old = self._a
            dk_new = float(a_old[prev_idx] @ k_prev) - 2.0 * g * float(a_old[new_idx] @ k_new) \
                + g * g * self.self_kernel(obs)
            c_new = a_old - cdk + carry * self._c
            s_new = (1.0 + g * g) * s2 + dk_new - float(cdk[dk_idx] @ dk_val)
            if not initial:
                s_new += (2.0 * c_dk - g * s2) * g * s2 / self._s
            self._grow(obs, act, a_new, delta_new)
            self._c = np.append(c_new, -g)
            self._a = np.zeros(len(self.acts))
            self._a[-1] = 1.0
            self._s = s_new
        else:
            h = self._a.copy()
            h[new_idx] -= g * a_new
            c_new = carry * self._c + h - cdk
            s_new = (1.0 + (0.0 if obs is None else g * g)) * s2 + float((c_new + carry * self._c)[dk_idx] @ dk_val)
            if not initial:
                s_new -= g * g * s2 * s2 / self._s
            a_dense = np.zeros(n)
            a_dense[new_idx] = a_new
            self._c, self._s, self._a = c_new, s_new, a_dense
        self.alpha = self.alpha + self._c * (self._d / self._s)
        self._pending.append((self._c.copy(), self._s))
        if not self._in_episode:  # a step on its own: C is updated at once
            self._apply_pending()

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
        self._clear()
        self.points = np.asarray(arrays["points"], dtype=np.float64)
        self.acts = np.asarray(arrays["acts"], dtype=np.int64)
        k_inv = np.asarray(arrays["k_inv"], dtype=np.float64)
        for act in dict.fromkeys(self.acts.tolist()):
            idx = np.flatnonzero(self.acts == act)
            self._members[act], self._act_points[act] = idx, self.points[idx]
            self._k_inv[act] = k_inv[np.ix_(idx, idx)]
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
