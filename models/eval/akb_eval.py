"""Evaluation of the AKB-JSCC copies (akb, akb-deconly, akb-nokb): KB-size sweep, the SNR x channel
grid at k/n = 1/12 and 1/6 (equal channel uses, the index counted), the entry-selection ablation, the
quality table the channel KB and the DQN are built from, and Kodak tiles."""
from __future__ import annotations

import os
import time

import numpy as np
import torch

from models.common.channel import effective_snr, index_length, send_index
from models.common.data import complexity, kodak_files, kodak_tiles
from models.common.metrics import psnr, ssim
from models.common.nets import Embedder
from models.eval.grid import CHANNELS, SNR_GRID, _gen
from models.train.akb import GROUP_NAMES, akb_forward, group_priors
from models.train.common import log, to_float
from models.train.kb import embed, nearest

TABLE_BUDGETS = [64, 128, 192, 256, 320, 384, 448, 512]
TABLE_SNRS = list(range(-6, 27))
if os.environ.get("AKB_SMOKE"):
    TABLE_BUDGETS, TABLE_SNRS = [128, 512], [0, 10]


@torch.no_grad()
def run_point(net, kbt, x_u8, sel, K, budget, snr, ch, dataset, groups, per_image=False, bs=2500,
              selection="embedder"):
    dev = kbt.dev
    net.eval()
    m = index_length(K, snr, budget)
    K_eff = K if m >= 0 else 1
    m = max(m, 0)
    gen = _gen(dev, CHANNELS.index(ch), float(snr), salt=K + budget)
    N = len(x_u8)
    ps, ss, per = torch.zeros(3, device=dev), torch.zeros(3, device=dev), []
    errs = 0
    for i in range(0, N, bs):
        x = to_float(x_u8[i:i + bs], dev)
        B = x.shape[0]
        se = effective_snr(snr, B, ch, dev, gen)
        if K_eff > 1:
            s = sel[i:i + bs].to(dev)
            d = send_index(s, torch.full((B,), m, device=dev), se, kbt.code, K_eff, gen)
            prior = kbt.priors[K_eff][d]
            errs += (d != s).sum().item()
        else:
            prior = kbt.gmean[None].expand(B, 3, 32, 32)
        p_enc, p_dec = group_priors(prior, kbt.gmean, B)
        L = torch.tensor([budget - m, budget - m, budget], device=dev)[None].expand(B, 3)
        s3 = se.expand(B, 3)
        out = akb_forward(net, x, p_enc, p_dec, s3, s3, L, gen, amp=False)
        pg = torch.stack([psnr(out[:, g], x) for g in range(3)], 1)
        ps += pg.sum(0)
        ss += torch.stack([ssim(out[:, g], x).sum() for g in range(3)])
        if per_image:
            per.append(pg.cpu())
    net.train()
    recs = []
    for g in groups:
        nokb = GROUP_NAMES[g] == "akb-nokb"
        recs.append(dict(model=GROUP_NAMES[g], family="akb", K=1 if nokb else K_eff, selection=selection,
                         channel_uses=budget, cbr=f"1/{3072 / budget:g}", index_uses=0 if nokb else m,
                         latent_uses=budget if nokb else budget - m,
                         index_error_rate=0.0 if nokb else round(errs / N, 5), test_snr=snr, channel=ch,
                         dataset=dataset, psnr=round(ps[g].item() / N, 4), ssim=round(ss[g].item() / N, 5), n=N))
    return (recs, torch.cat(per).numpy()) if per_image else recs


def _select(kb, emb, K, x_u8, dev):
    return nearest(embed(emb, x_u8, dev), kb["keys"][K].to(dev)).cpu()


def evaluate_all(net, kb, kbt, xtr, xte, dev, kodak=False, seconds=100.0, cifar=True, K_main=None):
    t0 = time.time()
    left = lambda: seconds - (time.time() - t0)  # noqa: E731
    emb = Embedder(kb["D"]).to(dev)
    emb.load_state_dict(kb["embedder"])
    emb.eval()
    sel = {K: kb["sel_test"][K].long() for K in kb["Ks"]}
    orc = {K: kb["oracle_test"][K].long() for K in kb["Ks"]}
    if xte is not None and len(xte) != 10000:  # a test subset (smoke tests): load_cifar's strided choice
        pick = torch.from_numpy(np.linspace(0, 9999, len(xte)).astype(np.int64))
        sel = {K: v[pick] for K, v in sel.items()}
        orc = {K: v[pick] for K, v in orc.items()}
    recs, skipped = [], []
    ds = "cifar10-test"
    if not cifar:
        return _kodak(net, kb, kbt, emb, dev, K_main or 256, recs, skipped, left)
    # 1. KB size sweep at k/n = 1/12, AWGN
    for K in kbt.Ks:
        for s in SNR_GRID:
            recs += run_point(net, kbt, xte, sel.get(K), K, 256, s, "awgn", ds, [0, 1, 2] if K == 1 else [0, 1])
    low = {K: np.mean([r["psnr"] for r in recs if r["model"] == "akb" and r["K"] == K and r["test_snr"] <= 5])
           for K in kbt.Ks}
    K_main = max(low, key=low.get)
    log("akb-eval", f"mean PSNR at SNR<=5 dB by K: {low} -> K_main={K_main} ({time.time() - t0:.0f}s)")
    # 2. the grid for K_main and K=1
    for budget in (256, 512):
        for ch in CHANNELS:
            if budget == 256 and ch == "awgn":
                continue
            if left() < 45:
                skipped.append(f"grid-{budget}-{ch}")
                continue
            for K in sorted({1, K_main}):
                for s in SNR_GRID:
                    recs += run_point(net, kbt, xte, sel.get(K), K, budget, s, ch, ds, [0, 1, 2] if K == 1 else [0, 1])
    log("akb-eval", f"grid done ({time.time() - t0:.0f}s)")
    # 3. quality table for the channel KB / DQN: per complexity bin, per budget and SNR
    edges = np.quantile(complexity(xtr), [0.25, 0.5, 0.75]).tolist()
    xs = xte[::2]
    bins = np.digitize(complexity(xs), edges)
    table = dict(budgets=TABLE_BUDGETS, snrs=TABLE_SNRS, complexity_edges=edges, K=K_main, n=len(xs),
                 models={}, note="mean and std of per-image PSNR (dB), AWGN, half of CIFAR-10 test")
    if left() > 25:
        sel_s = sel.get(K_main)[::2] if K_main > 1 else None
        mean = np.zeros((2, 4, len(TABLE_BUDGETS), len(TABLE_SNRS)))
        std = np.zeros_like(mean)
        for bi, b in enumerate(TABLE_BUDGETS):
            for si, s in enumerate(TABLE_SNRS):
                _, per = run_point(net, kbt, xs, sel_s, K_main, b, s, "awgn", ds, [], per_image=True)
                for gi, g in enumerate((0, 2)):
                    for c in range(4):
                        v = per[bins == c, g]
                        mean[gi, c, bi, si], std[gi, c, bi, si] = v.mean(), v.std()
        for gi, g in enumerate((0, 2)):
            table["models"][GROUP_NAMES[g]] = dict(psnr_mean=np.round(mean[gi], 3).tolist(),
                                                   psnr_std=np.round(std[gi], 3).tolist())
        table["bin_counts"] = np.bincount(bins, minlength=4).tolist()
        log("akb-eval", f"quality table done ({time.time() - t0:.0f}s)")
    else:
        skipped.append("quality_table")
    # 4. entry selection: the least-MSE entry (oracle) instead of the embedder's
    if K_main > 1 and left() > 10:
        for s in SNR_GRID:
            recs += run_point(net, kbt, xte, orc[K_main], K_main, 256, s, "awgn", ds, [0, 1],
                              selection="oracle")
    else:
        skipped.append("oracle_selection")
    # 5. Kodak tiles
    if kodak:
        _kodak(net, kb, kbt, emb, dev, K_main, recs, skipped, left)
    return dict(records=recs, K_main=K_main, low_snr_psnr_by_K={str(k): v for k, v in low.items()},
                quality_table=table, skipped=skipped)


def _kodak(net, kb, kbt, emb, dev, K_main, recs, skipped, left):
    if kodak_files() and left() > 15:
        kt, _ = kodak_tiles()
        for K in sorted({1, K_main}):
            sk = _select(kb, emb, K, kt, dev) if K > 1 else None
            for budget in (256, 512):
                for ch in CHANNELS:
                    for s in SNR_GRID:
                        recs += run_point(net, kbt, kt, sk, K, budget, s, ch, "kodak-32", [0, 1, 2] if K == 1 else [0, 1])
        log("akb-eval", "kodak done")
    else:
        skipped.append("kodak")
    return dict(records=recs, K_main=K_main, skipped=skipped)
