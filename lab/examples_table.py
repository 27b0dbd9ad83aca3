"""The examples' time against nn.LSTM, both kernels, from a run file (docs/notes/examples.md's table).

    python lab/examples_table.py RUN.json [--cases premul_lstm,...]

Each hand-written case with a baseline (the run file's ``baseline``; a hand-written case calls no
fused op, so it ran with one kernel, where a layer's variant ran with both) is divided by its
baseline at the same device, dtype, pass and shape, once per kernel the baseline ran (vendor:
oneDNN / cuDNN; native: both off). Prints a Markdown table: one row per case, size preset, shape
and pass.
"""

from __future__ import annotations

import argparse
import sys

import pandas as pd

from rnnsuite.reports.output.table import tidy
from rnnsuite.reports.runfile.reader import load_run
from rnnsuite.reports.runfile.run import RunFileError


def table(df: pd.DataFrame) -> pd.DataFrame:
    on = ["device", "dtype", "pass", "shape"]
    fused = set(df.loc[df["kernel"] == "native", "case"])  # ran with both kernels: a layer or its variant
    hand = df[df["baseline"].notna() & ~df["case"].isin(fused)]
    base = df[df["case"].isin(set(hand["baseline"]))]
    rows = []
    for _, h in hand.iterrows():
        same = base[(base["case"] == h["baseline"]) & (base[on] == h[on]).all(axis=1)]
        row = {"case": h["case"], "baseline": h["baseline"], "size": h["size"], "shape": h["shape"], "pass": h["pass"],
               "dtype": h["dtype"], "ms": h["median_s"] * 1e3}  # fmt: skip
        for kernel in ("vendor", "native"):
            b = same[same["kernel"] == kernel]
            row[f"vs {kernel}"] = h["median_s"] / b["median_s"].iloc[0] if len(b) else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--cases", default=None, help="comma list of cases to keep (default: every hand-written one)")
    args = ap.parse_args()
    try:
        df = tidy([load_run(p) for p in args.runs])
    except (RunFileError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = table(df)
    if args.cases:
        out = out[out["case"].isin(args.cases.split(","))]
    cols = list(out.columns)
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for row in out.itertuples(index=False):
        print("| " + " | ".join(f"{v:.2f}" if isinstance(v, float) else str(v) for v in row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
