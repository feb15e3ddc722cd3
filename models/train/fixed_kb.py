"""Knowledge for the fixed-rate AKB-JSCC (models/train/fixed.py), built from the training split only.

Split: the validation slice is every 25th training image (2,000, class balanced: the packed split is in class
order); the KB is built from the other 48,000 (`kb_ids`). K and the other choices are picked on the slice.

- `km`: pixel-space k-means of the 48,000 KB images and their mirror images, K in {16, 64, 256, 1024}; an
  entry's prior is the mean of its members (uint8). The transmitter picks the entry whose prior has the least
  squared error to the image (it holds the priors) and sends its index (log2 K bits) in the frame.
- `nn`: the KB is the 48,000 images and their mirrors (96,000 entries, 17-bit index): the transmitter picks
  the one nearest to the image in pixel MSE (for a training image: never itself nor its mirror).
- `hist`: a fixed camera's earlier frame, known at both ends (no index): synthesized in training from the
  image itself (a shift of up to 3 pixels, a gain, a colour offset and sensor noise).

Deterministic on one GPU type (sums by matrix products, no atomics), so a later call can rebuild it.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as Fn

from models.common.channel import INDEX_MAX_LEN, INDEX_TARGET_ERROR, index_codebook, index_table

KM_SIZES = [16, 64, 256, 1024]
VAL_STRIDE = 25
NN_BITS = 17  # 96,000 entries


def split_ids(n=50000):
    val = np.arange(0, n, VAL_STRIDE)
    kb = np.setdiff1d(np.arange(n), val)
    return kb, val


def u8_to_f(x_u8, dev):
    return torch.from_numpy(np.ascontiguousarray(x_u8)).to(dev).permute(0, 3, 1, 2).float() / 255


@torch.no_grad()
def nearest(Q, P, Pn=None, bs=4096, exclude=None):
    """Q [n, D], P [k, D] float (same device): argmin_k ||q - p_k||^2. exclude: [n, e] entries forbidden."""
    Pn = (P * P).sum(1) if Pn is None else Pn
    out = []
    for i in range(0, len(Q), bs):
        q = Q[i:i + bs]
        d = Pn[None] - 2 * (q @ P.T)
        if exclude is not None:
            d.scatter_(1, exclude[i:i + bs], float("inf"))
        out.append(d.argmin(1))
    return torch.cat(out)


@torch.no_grad()
def kmeans(X, K, iters=25, seed=0):
    """Deterministic k-means (float32; sums as one-hot products)."""
    g = torch.Generator(device="cpu").manual_seed(seed)
    C = X[torch.randperm(len(X), generator=g)[:K].to(X.device)].clone()
    for _ in range(iters):
        a = nearest(X, C)
        S = torch.zeros_like(C)
        cnt = torch.zeros(K, device=X.device)
        for i in range(0, len(X), 8192):
            oh = Fn.one_hot(a[i:i + 8192], K).float()
            S += oh.T @ X[i:i + 8192]
            cnt += oh.sum(0)
        empty = cnt == 0
        C = torch.where(empty[:, None], C, S / cnt.clamp_min(1)[:, None])
    return C, nearest(X, C)


@torch.no_grad()
def word_error(code, m, snr_db, trials, gen, bs=2000):
    K = code.shape[0]
    c = code[:, :m].reshape(K, -1)
    sigma = math.sqrt(10 ** (-snr_db / 10) / 2)
    errs, done = 0, 0
    while done < trials:
        n = min(bs, trials - done)
        idx = torch.randint(0, K, (n,), generator=gen, device=code.device)
        y = c[idx] + sigma * torch.randn(n, c.shape[1], generator=gen, device=code.device)
        errs += ((y @ c.T).argmax(1) != idx).sum().item()
        done += n
    return errs / trials


def index_uses_big(dev, Ks=(16384, 131072), snrs=range(-6, 31), trials=20000):
    """The index code's length table (models/eval/index_table.py's rule) for larger KBs, on the GPU."""
    import os
    if os.environ.get("AKB_SMOKE"):
        trials = 200
    gen = torch.Generator(device=dev).manual_seed(5)
    out = dict(snr_db=list(snrs), target_word_error=INDEX_TARGET_ERROR, trials=trials, uses={}, measured_error={})
    for K in Ks:
        code = torch.from_numpy(index_codebook(K, INDEX_MAX_LEN)).to(dev)
        m = math.ceil(math.log2(K) / 2)
        uses, errs = [], []
        for s in reversed(list(snrs)):
            e = word_error(code, m, s, trials, gen)
            while e > INDEX_TARGET_ERROR and m < INDEX_MAX_LEN:
                m = min(INDEX_MAX_LEN, m + max(1, m // 8))
                e = word_error(code, m, s, trials, gen)
            uses.append(m if e <= INDEX_TARGET_ERROR else -1)
            errs.append(round(e, 5))
            if e > INDEX_TARGET_ERROR:  # lower SNRs need more than the code has
                uses += [-1] * (len(list(snrs)) - len(uses))
                errs += [None] * (len(list(snrs)) - len(errs))
                break
        out["uses"][str(K)] = uses[::-1]
        out["measured_error"][str(K)] = errs[::-1]
    return out


def uses_table(big: dict) -> dict:
    """{K: list over snr -6..30} for every KB size used: the committed table (K <= 1024) and the big one."""
    t = index_table()
    assert t["snr_db"][0] == -6 and big["snr_db"][0] == -6
    out = {int(k): v for k, v in t["uses"].items()}
    out.update({int(k): v for k, v in big["uses"].items()})
    return out


def code_K(n: int) -> int:
    """The index code of a KB of n entries: that of the next power of two (>= 16)."""
    return max(16, 1 << math.ceil(math.log2(max(n, 2))))


@torch.no_grad()
def build(xtr_u8, dev, log=print):
    kb_ids, val_ids = split_ids(len(xtr_u8))
    X = u8_to_f(xtr_u8[kb_ids], dev)
    Xall = torch.stack([X, X.flip(3)], 1).flatten(2).reshape(2 * len(X), -1)  # entry 2j = KB image j, 2j+1 its mirror
    gm = X.mean(0)
    gmean_u8 = (gm * 255).round().clamp(0, 255).byte()
    out = dict(kb_ids=kb_ids, val_ids=val_ids, gmean=gmean_u8.cpu(), priors={}, sel={}, nn=None, Ks=KM_SIZES)
    for K in KM_SIZES:
        C, _ = kmeans(Xall, K, seed=100 + K)
        pri = (C.reshape(K, 3, 32, 32) * 255).round().clamp(0, 255).byte()
        out["priors"][K] = pri.cpu()
        log(f"kmeans K={K} done")
    # selections for every training image and its mirror (queries 2i, 2i+1)
    Xq = u8_to_f(xtr_u8, dev)
    Q = torch.stack([Xq, Xq.flip(3)], 1).flatten(2).reshape(2 * len(Xq), -1)
    for K in KM_SIZES:
        P = out["priors"][K].to(dev).float().flatten(1) / 255
        out["sel"][K] = nearest(Q, P).reshape(-1, 2).int().cpu()
    # nearest KB entry (never the image itself or its mirror; validation images are not in the KB)
    pos = torch.full((len(Xq),), -1, dtype=torch.long)
    pos[torch.from_numpy(kb_ids)] = torch.arange(len(kb_ids))
    pos2 = pos.to(dev).repeat_interleave(2)
    Pn = (Xall * Xall).sum(1)
    nn_sel = []
    for i in range(0, len(Q), 8192):
        d = Pn[None] - 2 * (Q[i:i + 8192] @ Xall.T)
        rows = pos2[i:i + 8192]
        k = (rows >= 0).nonzero().flatten()
        d[k, 2 * rows[k]] = float("inf")
        d[k, 2 * rows[k] + 1] = float("inf")
        nn_sel.append(d.argmin(1))
    out["nn"] = torch.cat(nn_sel).reshape(-1, 2).int().cpu()
    # prior quality on the validation slice
    V = Xq[torch.from_numpy(val_ids).to(dev)].flatten(1)
    stats = {}
    for K in KM_SIZES:
        P = out["priors"][K].to(dev).float().flatten(1) / 255
        s = out["sel"][K][torch.from_numpy(val_ids), 0].long().to(dev)
        stats[f"km{K}"] = round(psnr_rows(P[s], V).mean().item(), 3)
    s = out["nn"][torch.from_numpy(val_ids), 0].long().to(dev)
    stats["nn96000"] = round(psnr_rows(Xall[s], V).mean().item(), 3)
    stats["gmean"] = round(psnr_rows(gm.flatten()[None].expand_as(V), V).mean().item(), 3)
    out["val_prior_psnr"] = stats
    log(f"prior PSNR on the validation slice (dB): {stats}")
    return out


def psnr_rows(a, b):
    return 10 * torch.log10(1 / ((a - b) ** 2).mean(1).clamp_min(1e-10))


def synth_prev(x, gen=None, shift=3):
    """A camera's earlier frame of the same scene: integer shift (reflected borders), gain, colour offset,
    sensor noise. x [B, 3, H, W] in [0, 1]."""
    B, _, H, W = x.shape
    dev = x.device
    r = lambda *s: torch.rand(*s, device=dev, generator=gen)  # noqa: E731
    d = (r(B, 2) * (2 * shift + 1)).floor() - shift
    xp = Fn.pad(x, (shift, shift, shift, shift), mode="reflect")
    iy = (torch.arange(H, device=dev)[None] + shift + d[:, :1].long())  # [B, H]
    ix = (torch.arange(W, device=dev)[None] + shift + d[:, 1:].long())
    xs = xp[torch.arange(B, device=dev)[:, None, None, None], torch.arange(3, device=dev)[None, :, None, None],
            iy[:, None, :, None], ix[:, None, None, :]]
    g = 0.75 + 0.5 * r(B, 1, 1, 1)
    b = (r(B, 3, 1, 1) - 0.5) * 0.1
    n = torch.randn(xs.shape, device=dev, generator=gen) * 0.01
    return (g * xs + b + n).clamp(0, 1)
