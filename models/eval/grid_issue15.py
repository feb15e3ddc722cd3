"""Put the retrained fixed-rate AKB family's records into models/eval/results/jscc_grid.json (the table that the
cards test matches every card's quality points against): the records of akb-fixed, akb-fixed-nokb, akb-nn and
akb-hist from an earlier issue-15 results file are replaced, in place, by those of the new one (subsets "all"
and "whole-images", no sweeps: what fixed_export.quality() puts in the cards). deepjscc-r12-snr10's records stay.

  python3 -m models.eval.grid_issue15 [--results models/eval/results/issue15_stable_call2.json]
"""
from __future__ import annotations

import argparse
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
RES = os.path.join(HERE, "results")
FAMILY = ("akb-fixed", "akb-fixed-nokb", "akb-nn", "akb-hist")
DATASETS = ("cifar10-test", "cifar10-test-seq", "kodak", "kodak-seq")


def grid_records(results, source):
    out = []
    for r in results["records"]:
        if r["model"] not in FAMILY or r.get("sweep") or r["dataset"] not in DATASETS:
            continue
        if r["subset"] not in ("all", "whole-images"):
            continue
        g = dict(model=r["model"], family="akb-fixed", cbr="1/12", channel_uses=256, test_snr=r["snr"], channel=r["channel"],
                 dataset=r["dataset"] + ("-whole" if r["dataset"].startswith("kodak") else ""), psnr=r["psnr"], n=r["n"],
                 source=source)
        for k in ("K", "index_uses", "index_error_rate"):
            if k in r:
                g[k] = r[k]
        out.append(g)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", default=os.path.join(RES, "issue15_stable_call2.json"))
    a = ap.parse_args()
    source = os.path.splitext(os.path.basename(a.results))[0]
    new = grid_records(json.load(open(a.results)), source)
    path = os.path.join(RES, "jscc_grid.json")
    g = json.load(open(path))
    old = [i for i, r in enumerate(g["records"]) if r["model"] in FAMILY and str(r.get("source", "")).startswith("issue15")]
    at = old[0] if old else len(g["records"])
    keep = [r for i, r in enumerate(g["records"]) if i not in set(old)]
    g["records"] = keep[:at] + new + keep[at:]
    with open(path, "w") as f:
        json.dump(g, f, indent=0)
    print(f"replaced {len(old)} records by {len(new)} from {source}")


if __name__ == "__main__":
    main()
