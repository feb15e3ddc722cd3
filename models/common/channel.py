"""Channel models and the KB index code, shared by training, evaluation and the fixtures.

Conventions (shared/NOTES-radio.md): a latent of k complex symbols is a real vector of 2k values,
interleaved I/Q (z[2i] = Re s_i, z[2i+1] = Im s_i). Power: unit average power per complex symbol,
z * sqrt(k / ||z||^2). Noise: complex Gaussian of variance sigma^2 = 10^(-SNR/10), sigma^2/2 per real
dimension. Block Rayleigh: one h ~ CN(0,1) per image; the receiver knows h and equalizes (zero forcing),
which leaves AWGN of variance sigma^2/|h|^2: an effective SNR of SNR + 10 log10 |h|^2 for that image.
"""
from __future__ import annotations

import json
import math
import os

import numpy as np
import torch


def power_normalize(z: torch.Tensor, k: torch.Tensor | int | None = None) -> torch.Tensor:
    """z: [N, 2k] real. Scale each row to unit average power per complex symbol."""
    if k is None:
        k = z.shape[1] // 2
    e = z.pow(2).sum(1, keepdim=True).clamp_min(1e-12)
    return z * torch.sqrt(torch.as_tensor(k, dtype=z.dtype, device=z.device) / e)


def awgn(z: torch.Tensor, snr_db, gen: torch.Generator | None = None) -> torch.Tensor:
    """Add complex AWGN. snr_db: float or tensor broadcastable to [N, 1]."""
    snr = torch.as_tensor(snr_db, dtype=z.dtype, device=z.device)
    if snr.dim() == 1:
        snr = snr[:, None]
    sigma = torch.sqrt(10 ** (-snr / 10) / 2)
    n = torch.randn(z.shape, generator=gen, device=z.device, dtype=z.dtype) if gen is not None else torch.randn_like(z)
    return z + sigma * n


def rayleigh_gain_db(n: int, device, gen: torch.Generator | None = None) -> torch.Tensor:
    """10 log10 |h|^2 for h ~ CN(0,1), one per image: [N, 1]."""
    h = torch.randn((n, 2), generator=gen, device=device) * math.sqrt(0.5)
    return 10 * torch.log10(h.pow(2).sum(1, keepdim=True).clamp_min(1e-12))


def effective_snr(snr_db: float, n: int, channel: str, device, gen=None) -> torch.Tensor:
    s = torch.full((n, 1), float(snr_db), device=device)
    if channel == "awgn":
        return s
    if channel == "rayleigh":
        return s + rayleigh_gain_db(n, device, gen)
    raise ValueError(channel)


# ---------------------------------------------------------------- KB index code
# Entry i of a KB of size K = 2^b is sent as m QPSK symbols c_i[0..m-1]; the receiver, which holds the
# same codebook, decodes by maximum correlation over the K codewords (ML for equal-energy codewords).
# The first s = ceil(b/2) symbols are systematic: symbol j carries bits 2j (I) and 2j+1 (Q) of i, LSB
# first, bit 1 -> +1/sqrt(2), bit 0 -> -1/sqrt(2) (bits past b are 0). Symbols j >= s are pseudo-random:
#   x = lowbias32((i * 4096 + j) ^ 0x5EED1234);  I = (x & 1 ? +1 : -1) / sqrt(2),  Q = (x & 2 ? +1 : -1) / sqrt(2)
# lowbias32 (C. Wellons): x ^= x >> 16; x *= 0x7feb352d; x ^= x >> 15; x *= 0x846ca68b; x ^= x >> 16 (uint32).
# How many symbols to send: models/common/index_uses.json (made by models/eval/index_table.py), the
# least m whose ML word error, measured by simulation on AWGN, is at most 5e-3, per K and per SNR in dB
# (the transmitter rounds its SNR estimate down to the table's grid).
INDEX_SEED = 0x5EED1234
INDEX_MAX_LEN = 64
INDEX_TARGET_ERROR = 5e-3
_TABLE_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "index_uses.json")
_TABLE = None


def lowbias32(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.uint64) & 0xFFFFFFFF
    x ^= x >> 16
    x = (x * 0x7FEB352D) & 0xFFFFFFFF
    x ^= x >> 15
    x = (x * 0x846CA68B) & 0xFFFFFFFF
    x ^= x >> 16
    return x


def index_codebook(K: int, m: int = INDEX_MAX_LEN) -> np.ndarray:
    """[K, m, 2] float32 QPSK codewords (I, Q)."""
    i = np.arange(K, dtype=np.uint64)[:, None]
    j = np.arange(m, dtype=np.uint64)[None, :]
    x = lowbias32((i * 4096 + j) ^ INDEX_SEED)
    b = max(1, math.ceil(math.log2(max(K, 2))))
    sysm = j < math.ceil(b / 2)
    bit_i = np.where(sysm, (i >> np.minimum(2 * j, 63)) & 1, x & 1)
    bit_q = np.where(sysm, (i >> np.minimum(2 * j + 1, 63)) & 1, (x >> 1) & 1)
    s = 1 / math.sqrt(2)
    return np.stack([np.where(bit_i == 1, s, -s), np.where(bit_q == 1, s, -s)], -1).astype(np.float32)


def _qfunc_inv(p: float) -> float:
    lo, hi = 0.0, 40.0
    for _ in range(100):
        mid = (lo + hi) / 2
        if 0.5 * math.erfc(mid / math.sqrt(2)) > p:
            lo = mid
        else:
            hi = mid
    return hi


def index_table() -> dict:
    """{"snr_db": [...], "uses": {"16": [...], ...}} with -1 where no m <= 64 meets the target."""
    global _TABLE
    if _TABLE is None:
        with open(_TABLE_PATH) as f:
            _TABLE = json.load(f)
    return _TABLE


def index_length(K: int, snr_db: float, budget: int | None = None) -> int:
    """Complex channel uses spent on the index of a K-entry KB at the transmitter's SNR estimate; 0 when
    K == 1. -1 (send no index: K = 1, the global prior) when the table has no length for this SNR or the
    index would take more than half the budget."""
    if K <= 1:
        return 0
    t = index_table()
    grid = t["snr_db"]
    k = int(math.floor(snr_db + 1e-9)) - grid[0]
    m = t["uses"][str(K)][min(max(k, 0), len(grid) - 1)] if k >= 0 else -1
    if m < 0 or (budget is not None and m > budget // 2):
        return -1
    return m


def send_index(idx: torch.Tensor, m: torch.Tensor, snr_eff: torch.Tensor, code: torch.Tensor, K: int,
               gen: torch.Generator | None = None) -> torch.Tensor:
    """Simulate the index over the channel and its ML decoding.
    idx [B] long, m [B] long (uses per sample), snr_eff [B,1] dB, code [Kmax, 64, 2]. Returns decoded [B]."""
    B = idx.shape[0]
    if K <= 1 or B == 0:
        return torch.zeros_like(idx)
    c = code[:K]                                     # [K, M, 2]
    M = c.shape[1]
    mask = (torch.arange(M, device=idx.device)[None, :] < m[:, None]).float()  # [B, M]
    sigma = torch.sqrt(10 ** (-snr_eff / 10) / 2)    # [B, 1]
    noise = torch.randn((B, M, 2), generator=gen, device=idx.device) if gen is not None else torch.randn(B, M, 2, device=idx.device)
    y = (c[idx] + sigma[:, :, None] * noise) * mask[:, :, None]
    corr = torch.einsum("bmd,kmd->bk", y, c)
    return corr.argmax(1)
