"""The learned blender: a small neural network (one hidden layer, numpy) that scores a
candidate from its sources' features and the context, trained as learning-to-rank: at each
play, a softmax over the played track and sampled candidates (a skipped play counts as a
weak positive and pushes down like a negative), online with Adam. Until it has seen enough
plays, the hand-set linear weights rank instead."""

from __future__ import annotations

import copy
from collections import deque

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
Step = tuple[npt.NDArray[np.float32], int, float, bool]  # learn()'s arguments


class RunningScale:
    """Running mean and spread per feature (Welford), to standardise the inputs."""

    def __init__(self, n: int) -> None:
        self.n = 0.0
        self.mean = np.zeros(n)
        self.m2 = np.ones(n)
        self._std: FloatArray | None = None  # of the current n, mean and m2

    def changed(self) -> None:
        """Forget the cached spread (after n, mean or m2 were set from outside)."""
        self._std = None

    def update(self, x: FloatArray) -> None:
        """Merge a batch of rows (Chan et al.'s parallel update)."""
        k = float(x.shape[0])
        if k == 0:
            return
        mean = x.mean(axis=0)
        m2 = ((x - mean) ** 2).sum(axis=0)
        total = self.n + k
        delta = mean - self.mean
        self.mean = self.mean + delta * (k / total)
        self.m2 = self.m2 + m2 + delta**2 * (self.n * k / total)
        self.n = total
        self._std = None

    def apply(self, x: FloatArray) -> FloatArray:
        std = self._std
        if std is None:
            std = self._std = np.sqrt(self.m2 / max(self.n, 1.0)) + 1e-6
        result: FloatArray = (x - self.mean) / std
        return result


class Blender:
    def __init__(
        self,
        fallback: FloatArray,
        hidden: int = 16,
        lr: float = 3e-3,
        warmup: int = 300,
        seed: int = 0,
    ) -> None:
        n = int(fallback.size)
        rng = np.random.default_rng(seed)
        self.fallback = np.asarray(fallback, dtype=np.float64)
        self.scale = RunningScale(n)
        initial = {
            "w1": rng.normal(0.0, 1.0 / np.sqrt(n), (n, hidden)),
            "b1": np.zeros(hidden),
            "w2": rng.normal(0.0, 1.0 / np.sqrt(hidden), hidden),
            "lin": np.zeros(n),
        }
        # Parameters, gradients and Adam's moments each live in one flat array (the dicts
        # hold views), so a step updates them all in a few vectorised operations.
        size = sum(v.size for v in initial.values())
        self._flat = {name: np.zeros(size) for name in ("p", "g", "m", "v")}
        self.params = self._views(self._flat["p"], initial)
        for key, value in initial.items():
            self.params[key][...] = value
        self._grads = self._views(self._flat["g"], initial)
        self.m = self._views(self._flat["m"], initial)
        self.v = self._views(self._flat["v"], initial)
        self.lr = lr
        self.warmup = warmup
        self.steps = 0
        # The last learning steps, kept (when set) for a retraining pass (``refresh.py``).
        self.memory: deque[Step] | None = None
        self.recorded = 0  # steps ever put in ``memory``

    def copy(self) -> Blender:
        """An independent twin: its own flat arrays (and the dicts' views over them) and
        running scale, so training one never moves the other. Kept steps are not copied."""
        twin = copy.copy(self)
        twin._flat = {name: flat.copy() for name, flat in self._flat.items()}
        twin.params = self._views(twin._flat["p"], self.params)
        twin._grads = self._views(twin._flat["g"], self.params)
        twin.m = self._views(twin._flat["m"], self.params)
        twin.v = self._views(twin._flat["v"], self.params)
        twin.scale = copy.deepcopy(self.scale)
        twin.memory, twin.recorded = None, 0
        return twin

    @staticmethod
    def _views(flat: FloatArray, shapes: dict[str, FloatArray]) -> dict[str, FloatArray]:
        out: dict[str, FloatArray] = {}
        start = 0
        for key, value in shapes.items():
            out[key] = flat[start : start + value.size].reshape(value.shape)
            start += value.size
        return out

    @property
    def ready(self) -> bool:
        return self.steps >= self.warmup

    def _forward(self, z: FloatArray) -> tuple[FloatArray, FloatArray]:
        p = self.params
        hidden = np.tanh(z @ p["w1"] + p["b1"])
        return hidden @ p["w2"] + z @ p["lin"], hidden

    def score(self, x: FloatArray) -> FloatArray:
        """Higher is better; the hand-set weights until the network has learned enough."""
        if not self.ready:
            result: FloatArray = x @ self.fallback
            return result
        return self._forward(self.scale.apply(x))[0]

    def learn(
        self, x: FloatArray, positive: int, weight: float = 1.0, negative: bool = False
    ) -> None:
        """One step on a list: row ``positive`` is the play; the others were not played.
        ``negative``: the play was skipped, so the row is pushed below the others."""
        if self.memory is not None:
            self.memory.append((x.astype(np.float32), positive, weight, negative))
            self.recorded += 1
        self.scale.update(x)
        z = self.scale.apply(x)
        out, hidden = self._forward(z)
        out = out - out.max()
        prob = np.exp(out)
        prob /= prob.sum()
        target = np.zeros_like(prob)
        if negative:
            # Softmax towards the others: the skipped track's share goes to zero.
            target[:] = 1.0 / max(x.shape[0] - 1, 1)
            target[positive] = 0.0
        else:
            target[positive] = 1.0
        grad_out = (prob - target) * weight  # d loss / d score
        p, grads = self.params, self._grads
        grads["w2"][...] = hidden.T @ grad_out
        grads["lin"][...] = z.T @ grad_out
        grad_hidden = np.outer(grad_out, p["w2"]) * (1.0 - hidden**2)
        grads["w1"][...] = z.T @ grad_hidden
        grads["b1"][...] = grad_hidden.sum(axis=0)
        self.steps += 1
        t = self.steps
        # Adam over every parameter at once (elementwise, as per parameter).
        flat = self._flat
        g, m, v = flat["g"], flat["m"], flat["v"]
        m *= 0.9
        m += 0.1 * g
        g2 = 0.001 * g
        g2 *= g
        v *= 0.999
        v += g2
        m_hat = m / (1 - 0.9**t)
        v_hat = v / (1 - 0.999**t)
        np.sqrt(v_hat, out=v_hat)
        v_hat += 1e-8
        m_hat *= self.lr
        m_hat /= v_hat
        flat["p"] -= m_hat

    def contributions(
        self, x: FloatArray, groups: list[list[int]], baseline: FloatArray
    ) -> FloatArray:
        """How much each feature group lifts each row above the others: the drop in score
        when the group is set to ``baseline`` (the candidates' mean; rows x groups). One
        batched pass: the rows, then each row with each group masked."""
        rows, n_groups = x.shape[0], len(groups)
        batch = np.repeat(x[:, None, :], n_groups + 1, axis=1)  # rows x (1 + groups) x F
        for g, cols in enumerate(groups, start=1):
            batch[:, g, cols] = baseline[cols]
        scores = self.score(batch.reshape(rows * (n_groups + 1), -1)).reshape(rows, -1)
        result: FloatArray = scores[:, :1] - scores[:, 1:]
        return result

    def state(self) -> dict[str, FloatArray]:
        out = {f"p_{k}": v.copy() for k, v in self.params.items()}
        out.update({f"m_{k}": v.copy() for k, v in self.m.items()})
        out.update({f"v_{k}": v.copy() for k, v in self.v.items()})
        out["scale"] = np.concatenate([[self.scale.n], self.scale.mean, self.scale.m2])
        out["steps"] = np.array([self.steps], dtype=np.float64)
        return out

    def load(self, state: dict[str, FloatArray]) -> bool:
        """Restore a saved state; False (and nothing changed) if it does not fit."""
        params = {k: state.get(f"p_{k}") for k in self.params}
        if any(v is None or v.shape != self.params[k].shape for k, v in params.items()):
            return False
        for k in self.params:
            self.params[k][...] = state[f"p_{k}"]
            self.m[k][...] = state[f"m_{k}"]
            self.v[k][...] = state[f"v_{k}"]
        n = self.fallback.size
        scale = np.asarray(state["scale"], dtype=np.float64)
        self.scale.n, self.scale.mean, self.scale.m2 = scale[0], scale[1 : 1 + n], scale[1 + n :]
        self.scale.changed()
        self.steps = int(state["steps"][0])
        return True
