"""Tuning the personal model on the EARLY part of each dev log only (default: the first
30 %), so the rest of each log and the held-out files judge. Not a benchmark (no
``bench_`` prefix): run it by hand when changing the model.

    python tests/benchmarks/tune_personal.py [--fraction 0.3] [--files a.tsv ...] VARIANT...

A variant is ``name`` or ``name:key=value,key=value`` over PersonalConfig fields, plus
``hybrid=0`` to leave the hybrid's session CF out of the blender's inputs.
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
from recommender.evaluation import evaluate  # noqa: E402
from recommender.evaluation.strategies import BLLKNN, Catalogue, Segue, SessionItemKNN  # noqa: E402
from recommender.personal.model import PersonalConfig  # noqa: E402


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

    def make(catalogue: Catalogue) -> Segue:
        return Segue(catalogue, config, hybrid=hybrid)

    return name, make


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fraction", type=float, default=0.3)
    parser.add_argument(
        "--files", nargs="*", default=sorted(str(p) for p in DATA.glob("solo_dev_*.tsv"))
    )
    parser.add_argument("variants", nargs="+")
    args = parser.parse_args()
    factories = [variant(v) for v in args.variants]
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
