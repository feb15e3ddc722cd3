"""Evaluation over the (test SNR x channel) grid, run on whichever device trained the models.
Records are flat dicts: {model, family, cbr, train_snr, test_snr, channel, dataset, psnr, ssim, n, ...}."""
from __future__ import annotations

import os

import numpy as np
import torch

from models.common.channel import effective_snr
from models.common.metrics import psnr, ssim
from models.train.common import jscc_forward, to_float

SNR_GRID = [-2, 0, 1, 2, 4, 5, 7, 10, 13, 16, 19, 20]
CHANNELS = ["awgn", "rayleigh"]
if os.environ.get("AKB_SMOKE"):  # CPU smoke tests: a short grid
    SNR_GRID = [1, 10]


def _gen(dev, channel_i: int, snr: float, salt: int = 0):
    """Deterministic noise per (channel, SNR) point, so models are compared on the same draws."""
    g = torch.Generator(device=dev)
    g.manual_seed(1000 + 100000 * channel_i + int(round((snr + 10) * 100)) + 7919 * salt)
    return g


@torch.no_grad()
def eval_family(enc, dec, G: int, c: int, names, train_snrs, x_u8: np.ndarray, dataset: str, dev,
                snrs=SNR_GRID, channels=CHANNELS, bs: int = 2500):
    """Deep JSCC family: copy g was trained at train_snrs[g] (None: SNR-adaptive, fed the effective SNR)."""
    enc.eval()
    dec.eval()
    recs = []
    N = len(x_u8)
    for ci, ch in enumerate(channels):
        for s in snrs:
            gen = _gen(dev, ci, float(s), 1)
            ps, ss = torch.zeros(G, device=dev), torch.zeros(G, device=dev)
            for i in range(0, N, bs):
                x = to_float(x_u8[i:i + bs], dev)
                B = x.shape[0]
                se = effective_snr(s, B, ch, dev, gen)
                snr_model = torch.stack([se[:, 0] if t is None else torch.full((B,), float(t), device=dev)
                                         for t in train_snrs], 1)
                out = jscc_forward(enc, dec, x, G, c, snr_model, se.expand(B, G), gen, amp=False)
                for g in range(G):
                    ps[g] += psnr(out[:, g], x).sum()
                    ss[g] += ssim(out[:, g], x).sum()
            for g in range(G):
                recs.append(dict(model=names[g], family="deepjscc", cbr=f"1/{3072 // (c * 32)}",
                                 channel_uses=c * 32, train_snr=train_snrs[g], test_snr=s, channel=ch,
                                 dataset=dataset, psnr=round(ps[g].item() / N, 4), ssim=round(ss[g].item() / N, 5),
                                 n=N))
    enc.train()
    dec.train()
    return recs
