"""Measure the KB index code (models/common/channel.py) on AWGN and write models/common/index_uses.json:
for each KB size K and SNR (dB, integer grid), the least number of QPSK symbols m (<= 64) whose ML word
error rate is at most 5e-3 (-1 where none is). CPU, about a minute.

  python3 -m models.eval.index_table [--trials 20000]
"""
from __future__ import annotations

import argparse
import json
import math

import numpy as np
import torch

from models.common.channel import _TABLE_PATH, INDEX_MAX_LEN, INDEX_TARGET_ERROR, index_codebook

KS = [16, 64, 256, 1024]
SNRS = list(range(-6, 31))


@torch.no_grad()
def word_error(code: torch.Tensor, m: int, snr_db: float, trials: int, gen: torch.Generator) -> float:
    K = code.shape[0]
    c = code[:, :m]                                  # [K, m, 2]
    sigma = math.sqrt(10 ** (-snr_db / 10) / 2)
    errs, done = 0, 0
    while done < trials:
        n = min(4000, trials - done)
        idx = torch.randint(0, K, (n,), generator=gen)
        y = c[idx] + sigma * torch.randn(n, m, 2, generator=gen)
        dec = torch.einsum("bmd,kmd->bk", y, c).argmax(1)
        errs += (dec != idx).sum().item()
        done += n
    return errs / trials


def build(trials: int):
    gen = torch.Generator().manual_seed(5)
    out = dict(snr_db=SNRS, target_word_error=INDEX_TARGET_ERROR, trials=trials, channel="awgn",
               decoder="maximum correlation over the K codewords", uses={}, measured_error={})
    for K in KS:
        code = torch.from_numpy(index_codebook(K, INDEX_MAX_LEN))
        m = math.ceil(math.log2(K) / 2)
        uses, errs = [], []
        for s in reversed(SNRS):  # m only grows as the SNR falls
            e = word_error(code, m, s, trials, gen)
            while e > INDEX_TARGET_ERROR and m < INDEX_MAX_LEN:
                m = min(INDEX_MAX_LEN, m + max(1, m // 8))
                e = word_error(code, m, s, trials, gen)
            ok = e <= INDEX_TARGET_ERROR
            uses.append(m if ok else -1)
            errs.append(round(e, 5))
        out["uses"][str(K)] = uses[::-1]
        out["measured_error"][str(K)] = errs[::-1]
        print(K, dict(zip(SNRS, out["uses"][str(K)])), flush=True)
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=20000)
    a = ap.parse_args()
    t = build(a.trials)
    with open(_TABLE_PATH, "w") as f:
        json.dump(t, f)
    print("wrote", _TABLE_PATH)
