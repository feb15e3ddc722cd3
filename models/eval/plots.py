"""Figures and the target summary from models/eval/results/*.json (CPU, matplotlib).

  python3 -m models.eval.plots   -> models/eval/*.png, models/eval/results/summary.json
"""
from __future__ import annotations

import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
RES = os.path.join(HERE, "results")
PUBLISHED = {1: 22.5, 4: 24.4, 7: 25.9, 13: 28.3, 19: 30.0}  # Deep JSCC paper, CIFAR-10, AWGN, 1/12


def load(name):
    p = os.path.join(RES, name)
    if not os.path.exists(p):
        return None
    with open(p) as f:
        return json.load(f)


def series(recs, metric="psnr", **flt):
    pts = sorted((r["test_snr"], r[metric]) for r in recs if all(r.get(k) == v for k, v in flt.items()))
    return [p[0] for p in pts], [p[1] for p in pts]


def akb_filter(uses, K):
    return dict(family="akb", channel_uses=uses, K=K, selection="embedder")


def grid_figure(recs, dataset, metric, path):
    fig, axes = plt.subplots(2, 2, figsize=(12, 9), sharey=True)
    for row, ch in enumerate(("awgn", "rayleigh")):
        for col, (ratio, uses) in enumerate(((12, 256), (6, 512))):
            ax = axes[row, col]
            for s in (1, 4, 7, 13, 19):
                x, y = series(recs, metric, model=f"deepjscc-r{ratio}-snr{s}", channel=ch, dataset=dataset)
                ax.plot(x, y, color="0.6", lw=0.8, label="Deep JSCC, one model per SNR" if s == 1 else None)
                xs, ys = series(recs, metric, model=f"deepjscc-r{ratio}-snr{s}", channel=ch, dataset=dataset, test_snr=s)
                ax.plot(xs, ys, "o", color="0.3", ms=4)
            for model, style, lab in ((f"deepjscc-r{ratio}-adaptive", "k-", "Deep JSCC, SNR-adaptive"),):
                ax.plot(*series(recs, metric, model=model, channel=ch, dataset=dataset), style, lw=1.6, label=lab)
            for model, K, style, lab in (("akb", 256, "C3-", "AKB-JSCC (K=256, index counted)"),
                                         ("akb-deconly", 256, "C1--", "ablation: prior at decoder only"),
                                         ("akb-nokb", 1, "C0:", "ablation: no source KB")):
                ax.plot(*series(recs, metric, model=model, channel=ch, dataset=dataset, **akb_filter(uses, K)),
                        style, lw=1.4, label=lab)
            for model, style in (("jpeg-payload", "C2-."), ("jpeg-file", "C4-.")):
                x, y = series(recs, metric, model=model, channel=ch, dataset=dataset, channel_uses=uses)
                if x:
                    ax.plot(x, y, style, lw=1.2, label=f"{model} at capacity")
            if ch == "awgn" and ratio == 12 and dataset == "cifar10-test" and metric == "psnr":
                ax.plot(list(PUBLISHED), list(PUBLISHED.values()), "r*", ms=9, label="published Deep JSCC (read off)")
            ax.set_title(f"{dataset}, {ch.upper()}, k/n = 1/{ratio} ({uses} channel uses)")
            ax.set_xlabel("test SNR (dB)")
            ax.set_ylabel(metric.upper() + (" (dB)" if metric == "psnr" else ""))
            ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def kb_size_figure(recs, kbstats, path):
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    Ks = [1, 16, 64, 256, 1024]
    for s in (-2, 0, 1, 4, 7, 13):
        base = next(r["psnr"] for r in recs if r["model"] == "akb" and r["K"] == 1 and r["channel_uses"] == 256
                    and r["channel"] == "awgn" and r["test_snr"] == s and r["dataset"] == "cifar10-test")
        g = [next(r["psnr"] for r in recs if r["model"] == "akb" and r["K"] == K and r["channel_uses"] == 256
                  and r["channel"] == "awgn" and r["test_snr"] == s and r["dataset"] == "cifar10-test"
                  and r.get("selection") == "embedder") - base for K in Ks]
        a1.plot(Ks, g, "o-", label=f"{s} dB")
    a1.set_xscale("log", base=2)
    a1.axhline(0, color="k", lw=0.5)
    a1.set_xlabel("KB size K (entries)")
    a1.set_ylabel("PSNR gain over K = 1 (dB)")
    a1.set_title("AKB-JSCC, CIFAR-10, AWGN, 256 uses (index counted)")
    a1.legend(fontsize=8)
    a1.grid(alpha=0.3)
    st = kbstats["stats"]
    a2.plot([s["K"] for s in st], [s["prior_psnr_edge"] for s in st], "o-", label="entry picked by the edge embedder")
    a2.plot([s["K"] for s in st], [s["prior_psnr_cloud"] for s in st], "s--", label="entry picked by the vision encoder")
    a2.plot([s["K"] for s in st], [s["prior_psnr_oracle"] for s in st], "^-", label="least-MSE entry (oracle)")
    a2.axhline(st[0]["prior_psnr_global_mean"], color="k", lw=0.8, label="global mean image")
    a2.set_xscale("log", base=2)
    a2.set_xlabel("KB size K")
    a2.set_ylabel("PSNR of the prior alone (dB)")
    a2.set_title("How much of a test image the prior explains")
    a2.legend(fontsize=8)
    a2.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def rate_figure(table, path):
    b = table["budgets"]
    snrs = table["snrs"]
    m = np.array(table["models"]["akb"]["psnr_mean"])
    w = np.array(table["bin_counts"], float)
    avg = (m * w[:, None, None]).sum(0) / w.sum()
    fig, ax = plt.subplots(figsize=(6, 4))
    for s in (-2, 0, 4, 10, 20):
        ax.plot(b, avg[:, snrs.index(s)], "o-", label=f"{s} dB")
    ax.set_xlabel("channel uses per image (rate action)")
    ax.set_ylabel("PSNR (dB)")
    ax.set_title(f"AKB-JSCC agile latent, one model, K={table['K']}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def dqn_figure(d, path):
    mr = d["mean_reward_over_scenarios"]
    fixed = sorted((k for k in mr if k.startswith("fixed")), key=lambda k: -mr[k])
    names = ["oracle", "dqn", "kb-greedy"] + fixed[:4] + [fixed[-1]]
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.bar(range(len(names)), [mr[n] for n in names], color=["C2", "C3", "C1"] + ["0.6"] * (len(names) - 3))
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=8)
    lo = min(mr[n] for n in names)
    ax.set_ylim(lo - 0.5, max(mr.values()) + 0.3)
    ax.set_ylabel("mean reward per frame")
    ax.set_title("Rate/power control over 8 simulated channels (mean)")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def summary(recs, dig):
    out = dict(baseline_vs_published={}, akb_vs_baseline={})
    for s, v in PUBLISHED.items():
        got = next(r["psnr"] for r in recs if r["model"] == f"deepjscc-r12-snr{s}" and r["test_snr"] == s
                   and r["channel"] == "awgn" and r["dataset"] == "cifar10-test")
        out["baseline_vs_published"][str(s)] = dict(published=v, measured=got, diff=round(got - v, 2))
    for ds in ("cifar10-test", "kodak-32"):
        for ch in ("awgn", "rayleigh"):
            rows = {}
            for s in (-2, 0, 1, 2, 4, 5):
                def get(**f):
                    return next((r["psnr"] for r in recs if all(r.get(k) == v for k, v in f.items())), None)
                base_fixed = get(model=f"deepjscc-r12-snr{s}", test_snr=s, channel=ch, dataset=ds)
                trained = [t for t in (1, 4, 7, 13, 19)]
                best_fixed = max(get(model=f"deepjscc-r12-snr{t}", test_snr=s, channel=ch, dataset=ds) for t in trained)
                adapt = get(model="deepjscc-r12-adaptive", test_snr=s, channel=ch, dataset=ds)
                akb = get(model="akb", K=256, channel_uses=256, selection="embedder", test_snr=s, channel=ch, dataset=ds)
                nokb = get(model="akb-nokb", channel_uses=256, test_snr=s, channel=ch, dataset=ds)
                ref = max(best_fixed, adapt)
                rows[str(s)] = dict(akb=akb, akb_nokb=nokb, deepjscc_best=ref, deepjscc_adaptive=adapt,
                                    deepjscc_trained_at_this_snr=base_fixed,
                                    gain_pct_vs_deepjscc=round(100 * (akb / ref - 1), 2),
                                    gain_pct_vs_adaptive=round(100 * (akb / adapt - 1), 2),
                                    gain_pct_vs_nokb=round(100 * (akb / nokb - 1), 2))
            out["akb_vs_baseline"][f"{ds}/{ch}"] = rows
    out["targets"] = dict(akb_gain_10pct_at_snr_le_5=all(r["gain_pct_vs_deepjscc"] >= 10 for r in
                                                         out["akb_vs_baseline"]["cifar10-test/awgn"].values()),
                          note="gain of AKB-JSCC (K=256, 256 channel uses including the index) over the best Deep "
                               "JSCC at 1/12 (the better of the best fixed-SNR model and the adaptive one)")
    return out


def main():
    g = load("jscc_grid.json")
    dig = load("digital.json")
    recs = g["records"] + (dig["records"] if dig else [])
    for ds in ("cifar10-test", "kodak-32"):
        grid_figure(recs, ds, "psnr", os.path.join(HERE, f"psnr_{ds}.png"))
    grid_figure(recs, "cifar10-test", "ssim", os.path.join(HERE, "ssim_cifar10-test.png"))
    kb_size_figure(g["records"], load("kb.json"), os.path.join(HERE, "kb_size.png"))
    rate_figure(load("quality_table.json"), os.path.join(HERE, "rate_curves.png"))
    d = load("dqn.json")
    if d:
        dqn_figure(d, os.path.join(HERE, "dqn.png"))
    s = summary(recs, dig)
    with open(os.path.join(RES, "summary.json"), "w") as f:
        json.dump(s, f, indent=1)
    print(json.dumps(s["baseline_vs_published"]))
    print(json.dumps(s["akb_vs_baseline"]["cifar10-test/awgn"]))


if __name__ == "__main__":
    main()
