"""Tuning the personal model on the EARLY part of each dev log only (default: the first
30 %), so the rest of each log and the held-out files judge. Not a benchmark (no
``bench_`` prefix): run it by hand when changing the model.

    python tests/benchmarks/tune_personal.py [--fraction 0.3] [--files a.tsv ...] VARIANT...

A variant is ``name`` or ``name:key=value,key=value`` over PersonalConfig fields, plus
``hybrid=0`` to leave the hybrid's session CF out of the blender's inputs: the personal
model alone (``SeguePersonal``).

``--app-weights 0.75,1.5,3 [--recency 2,1]`` replays the app's blend instead
(``engine.blend_scorer``, as ``Engine.build`` and ``segue eval``'s ``segue``: session CF,
tags, taste and the ``personal`` source weighed by the long-history prior, personal = that
many times CF, minus that weight of the recency penalty), one variant per pair, all
sharing one set of models.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import fields, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "listening"

from player.cli.cmd_eval import load_log  # noqa: E402
from recommender import api  # noqa: E402
from recommender.evaluation import evaluate  # noqa: E402
from recommender.evaluation.strategies import (  # noqa: E402
    BLLKNN,
    Catalogue,
    Segue,
    SeguePersonal,
    SessionItemKNN,
)
from recommender.personal.model import PersonalConfig  # noqa: E402
from recommender.ranking.feedback import cold_start_prior  # noqa: E402


def variant(spec: str) -> tuple[str, object]:
    name, _, rest = spec.partition(":")
    config = PersonalConfig()
    hybrid = True
    types = {f.name: f.type for f in fields(PersonalConfig)}
    for pair in filter(None, rest.split(",")):
        key, _, value = pair.partition("=")
        if key == "hybrid":
            hybrid = value != "0"
            continue
        kind = types[key]
        config = replace(
            config,
            **{
                key: (float if "float" in str(kind) else int if "int" in str(kind) else bool)(value)
            },
        )

    def make(catalogue: Catalogue) -> SeguePersonal:
        return SeguePersonal(catalogue, config, hybrid=hybrid)

    return name, make


class _AppParts:
    """One replay of the app's blend (``Segue``: ``engine.blend_scorer``, as
    ``Engine.build`` builds it) whose parts -- each source scaled as ``HybridScorer``
    scales it, and the recency penalty -- are shared by the variants, which only weigh
    them. No audio vectors, and no up-next constraints (see ``Segue``)."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.segue = Segue(catalogue)
        self.learnt = 0
        self._parts: tuple[int, dict[str, np.ndarray]] | None = None

    def parts(self, step: int, session: list[int], now: float) -> dict[str, np.ndarray]:
        if self._parts is None or self._parts[0] != step:
            context = api.Context(current=session[-1], session=tuple(session), now=now)
            scorer = self.segue.scorer
            breakdown = scorer.score(context)
            self._parts = (step, {**breakdown.parts, "recency": scorer.recency_penalty(context)})
        return self._parts[1]

    def learn(self, item: int, session: int, ts: float, skipped: float) -> None:
        self.segue.learn_play(item, session, ts, np.nan, skipped)
        self.learnt += 1


class AppBlend:
    def __init__(
        self, shared: dict[int, _AppParts], catalogue: Catalogue, ratio: float, recency: float
    ) -> None:
        core = shared.get(id(catalogue))
        if core is None:
            shared.clear()
            core = shared[id(catalogue)] = _AppParts(catalogue)
        self.core, self.ratio, self.recency, self.step = core, ratio, recency, 0

    def scores(self, session: list[int], key: int, now: float) -> np.ndarray:
        parts = self.core.parts(self.step, session, now)
        prior = cold_start_prior(self.core.segue.listens)  # as Engine.build weighs them
        total = prior["cf"] * parts["cf"] + prior["taste"] * parts["taste"]
        total = total + prior["metadata"] * parts["metadata"] - self.recency * parts["recency"]
        total = total + self.ratio * prior["cf"] * parts["personal"]
        return np.asarray(total, dtype=np.float32)

    def learn(self, item: int, session: int, ts: float) -> None:
        self.learn_play(item, session, ts, np.nan, np.nan)

    def learn_play(
        self, item: int, session: int, ts: float, ms_played: float, skipped: float
    ) -> None:
        self.step += 1
        if self.step > self.core.learnt:
            self.core.learn(item, session, ts, skipped)


def app_variants(weights: str, recency: str) -> list[tuple[str, object]]:
    shared: dict[int, _AppParts] = {}
    out: list[tuple[str, object]] = []
    for ratio in (float(w) for w in weights.split(",")):
        for penalty in (float(r) for r in recency.split(",")):

            def make(
                catalogue: Catalogue, ratio: float = ratio, penalty: float = penalty
            ) -> AppBlend:
                return AppBlend(shared, catalogue, ratio, penalty)

            out.append((f"app_personal_x{ratio:g}_recency{penalty:g}", make))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fraction", type=float, default=0.3)
    parser.add_argument(
        "--files", nargs="*", default=sorted(str(p) for p in DATA.glob("solo_dev_*.tsv"))
    )
    parser.add_argument("--app-weights", default="")
    parser.add_argument("--recency", default="2", help="the blend's recency penalty weights")
    parser.add_argument("variants", nargs="*")
    args = parser.parse_args()
    factories = [variant(v) for v in args.variants]
    if args.app_weights:
        factories += app_variants(args.app_weights, args.recency)
    factories += [("bll_knn", BLLKNN), ("session_item_knn", SessionItemKNN)]
    ratios: dict[str, list[float]] = {name: [] for name, _ in factories[:-2]}
    for file in args.files:
        log = load_log(Path(file))
        log = log.subset(np.arange(int(len(log) * args.fraction)))
        start = time.time()
        result = evaluate(log, "stream", factories)
        hr = {n: m["hr@10"] for n, m in result.strategies.items()}
        best = max(hr["bll_knn"], hr["session_item_knn"])
        for name in ratios:
            ratios[name].append(hr[name] / best)
        aucs = {n: round(m["skip_auc"], 3) for n, m in result.strategies.items() if "skip_auc" in m}
        print(
            json.dumps(
                {
                    "file": Path(file).stem,
                    "hr": {k: round(v, 4) for k, v in hr.items()},
                    "skip_auc": aucs,
                    "seconds": result.seconds,
                    "wall": round(time.time() - start, 1),
                }
            ),
            flush=True,
        )
    for name, r in ratios.items():
        print(
            json.dumps(
                {
                    "variant": name,
                    "ratios": [round(x, 3) for x in r],
                    "geomean": round(float(np.exp(np.mean(np.log(r)))), 3),
                }
            )
        )


if __name__ == "__main__":
    main()
