"""Evaluation for issue 15: every k/n = 1/12 model on the same channel draws.

Models: the zoo's Deep JSCC baselines (weights read back from their ONNX files), the new 10 dB Deep JSCC, and
the four fixed-rate AKB-JSCC copies. Data: CIFAR-10 test (whole, and without the test images that have a
near-duplicate in the training split by our own nearest-neighbour check), Kodak as whole images (each coded
as independent 32x32 tiles, PSNR over the whole image), and for the device-history KB the "sequences":
CIFAR-10 test with a synthetic earlier frame, and Kodak central crops (480x736) whose earlier frame is the
crop 1-3 pixels away with other light, cut from the same photograph.

Noise: one fixed draw per (dataset, channel, SNR) shared by every model: the block-fading gain per image, the
index symbols' noise and the latent noise (unit normal, scaled by each point's sigma). Rayleigh: the receiver
knows h (zero forcing: AWGN at SNR + 10 log10 |h|^2); every transmitter (encoder, index length) knows only the
mean SNR, every receiver gets the effective SNR.
"""
from __future__ import annotations

import math
import os
import time
import zlib

import numpy as np
import torch

from models.common.channel import index_codebook
from models.common.fused import USES
from models.common.nets import Decoder, Encoder
from models.train import fixed_kb as fk
from models.train.common import log

SNR_GRID = [-2, 0, 1, 2, 4, 5, 7, 10, 13, 16, 19, 20]
CHANNELS = ["awgn", "rayleigh"]
SMOKE = bool(os.environ.get("AKB_SMOKE"))
if SMOKE:
    SNR_GRID = [1, 10]
BASELINES = [f"deepjscc-r12-snr{s}" for s in (1, 4, 7, 13, 19)] + ["deepjscc-r12-adaptive"]
ZOO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "zoo"))


def _seed(*parts):
    return zlib.crc32("/".join(str(p) for p in parts).encode())


class Draws:
    """The channel realisation of one (dataset, channel, SNR) point, shared by all models."""

    def __init__(self, n, dataset, channel, snr, dev):
        g = torch.Generator(device=dev).manual_seed(_seed(dataset, channel, snr))
        self.snr = float(snr)
        self.tx = torch.full((n, 1), float(snr), device=dev)
        if channel == "rayleigh":
            h = torch.randn(n, 2, device=dev, generator=g) * math.sqrt(0.5)
            self.eff = self.tx + 10 * torch.log10(h.pow(2).sum(1, keepdim=True).clamp_min(1e-12))
        else:
            self.eff = self.tx.clone()
        self.noise = torch.randn(n, 2 * USES, device=dev, generator=g)
        self.inoise = torch.randn(n, 64, 2, device=dev, generator=g)
        self.sigma = torch.sqrt(10 ** (-self.eff / 10) / 2)      # [n, 1]


# ---------------------------------------------------------------- Deep JSCC from the zoo's ONNX files
def _onnx_state(path, prefix):
    import onnx
    from onnx import numpy_helper
    m = onnx.load(path)
    named, prelu = {}, []
    for t in m.graph.initializer:
        a = torch.from_numpy(numpy_helper.to_array(t).copy())
        if t.name.startswith(prefix + "."):
            named[t.name[len(prefix) + 1:]] = a
        elif t.name.startswith("onnx::PRelu_"):
            prelu.append((int(t.name.split("_")[-1]), a))
    prelu.sort()
    return named, [a.reshape(-1) for _, a in prelu]


def load_zoo_deepjscc(name, dev):
    """(enc, dec, train_snr or None) with the weights of models/zoo/<name>-{enc,dec}/model.onnx."""
    mods = []
    for role, cls, prefix in (("enc", Encoder, "enc"), ("dec", Decoder, "dec")):
        named, prelu = _onnx_state(os.path.join(ZOO, f"{name}-{role}", "model.onnx"), prefix)
        m = cls(1, 3, 8, 64, film=True) if role == "enc" else cls(1, 8, 64, film=True)
        sd = dict(named)
        for i, a in enumerate(prelu):  # PReLU slopes in forward order: acts[i], films[i].act, ...
            sd[f"acts.{i // 2}.weight" if i % 2 == 0 else f"films.{i // 2}.act.weight"] = a
        m.load_state_dict(sd)
        mods.append(m.to(dev).eval())
    snr = None if name.endswith("adaptive") else float(name.split("snr")[-1])
    return mods[0], mods[1], snr


@torch.no_grad()
def deep_point(enc, dec, train_snr, x, d: Draws, bs=5000):
    """Per-image MSE [n] of a Deep JSCC (fixed SNR: constant FiLM input; adaptive: tx mean SNR, rx effective)."""
    out = []
    for i in range(0, len(x), bs):
        xb = x[i:i + bs]
        n = len(xb)
        se = torch.full((n, 1), train_snr, device=x.device) if train_snr is not None else d.tx[i:i + n]
        sd = torch.full((n, 1), train_snr, device=x.device) if train_snr is not None else d.eff[i:i + n]
        z = enc(xb, se).flatten(1)
        z = z * torch.sqrt(USES / z.pow(2).sum(1, keepdim=True).clamp_min(1e-12))
        y = z + d.sigma[i:i + n] * d.noise[i:i + n]
        r = dec(y.reshape(n, 8, 8, 8), sd)
        out.append((r - xb).pow(2).flatten(1).mean(1))
    return torch.cat(out)


# ---------------------------------------------------------------- AKB-JSCC (fixed rate)
class Selector:
    """Transmitter-side entry choice for arbitrary images (least pixel MSE), per KB."""

    def __init__(self, kbd, seed=7):
        self.kbd = kbd
        n = len(kbd.kb_img)
        g = torch.Generator().manual_seed(seed)
        perm = torch.randperm(n, generator=g).to(kbd.dev)
        self.nn_order = torch.stack([2 * perm, 2 * perm + 1], 1).flatten()       # entries, random order
        self.cache = {}
        self._all = None

    def _entries(self):
        if self._all is None:
            self._all = self.kbd.entry_image(torch.arange(2 * len(self.kbd.kb_img), device=self.kbd.dev)).flatten(1)
        return self._all

    def km(self, x, K, key):
        ck = ("km", K, key)
        if ck not in self.cache:
            P = self.kbd.priors[K].flatten(1)
            self.cache[ck] = fk.nearest(x.flatten(1), P)
        return self.cache[ck]

    def nn(self, x, n, key):
        """Entry ids (0..n-1 in the subset's own numbering) and the subset's entry list."""
        ck = ("nn", n, key)
        sub = self.nn_order[:n]
        if ck not in self.cache:
            E = self._entries()[sub]
            self.cache[ck] = fk.nearest(x.flatten(1), E)
        return self.cache[ck], sub


@torch.no_grad()
def send_index_ml(sel, m, d: Draws, rows, K_code, n_entries, dev, bs=1024):
    """ML decoding of the index code (maximum correlation over the n_entries codewords used), at each
    image's effective SNR; m symbols. Returns decoded entries."""
    if m <= 0:
        return sel
    code = CODES.get(K_code)
    if code is None:
        code = CODES[K_code] = torch.from_numpy(index_codebook(K_code, 64)).to(dev)
    c = code[:n_entries, :m].reshape(n_entries, -1)
    out = []
    for i in range(0, len(sel), bs):
        s = sel[i:i + bs]
        r = rows[i:i + bs]
        y = c[s] + d.sigma[r] * d.inoise[r, :m].reshape(len(r), -1)
        out.append((y @ c.T).argmax(1))
    return torch.cat(out)


CODES: dict = {}


@torch.no_grad()
def akbx_point(enc, dec, kbd, x_u8, prev, snr, channel, km_K=256, nn_n=96000, tag="cifar", sel=None, d=None,
               bs=2500, x=None):
    """One grid point for the four copies. x_u8 (or x float [n,3,32,32]); prev: earlier frames [n,3,32,32] for
    akb-hist (None: synthetic, seeded). Returns (per-image MSE [n, 4], info)."""
    from models.train.fixed import fused_forward
    dev = kbd.dev
    if x is None:
        x = torch.from_numpy(np.ascontiguousarray(x_u8)).to(dev).permute(0, 3, 1, 2).float() / 255
    n = len(x)
    if d is None:
        d = Draws(n, tag, channel, snr, dev)
    sel = sel or Selector(kbd)
    if prev is None:
        prev = fk.synth_prev(x, torch.Generator(device=dev).manual_seed(_seed(tag, "prev")))
    g = kbd.gmean[None].expand(n, 3, 32, 32)
    rows = torch.arange(n, device=dev)
    info = {}
    # k-means KB
    m_km = int(kbd.index_uses(km_K, torch.tensor([float(snr)], device=dev))[0]) if km_K > 1 else -1
    if m_km >= 0:
        s_km = sel.km(x, km_K, tag)
        r_km = send_index_ml(s_km, m_km, d, rows, fk.code_K(km_K), km_K, dev)
        pe_km, pd_km = kbd.priors[km_K][s_km], kbd.priors[km_K][r_km]
        info["km"] = dict(K=km_K, index_uses=m_km, index_error_rate=round((r_km != s_km).float().mean().item(), 5))
    else:
        pe_km = pd_km = g
        info["km"] = dict(K=1 if km_K > 1 else km_K, index_uses=0, index_error_rate=0.0, note="no index: global mean")
    # nearest-training-image KB
    m_nn = int(kbd.index_uses(nn_n, torch.tensor([float(snr)], device=dev))[0])
    if m_nn >= 0:
        s_nn, sub = sel.nn(x, nn_n, tag)
        r_nn = send_index_ml(s_nn, m_nn, d, rows, fk.code_K(nn_n), len(sub), dev)
        pe_nn, pd_nn = kbd.entry_image(sub[s_nn]), kbd.entry_image(sub[r_nn])
        info["nn"] = dict(K=nn_n, index_uses=m_nn, index_error_rate=round((r_nn != s_nn).float().mean().item(), 5))
    else:
        pe_nn = pd_nn = g
        info["nn"] = dict(K=1, index_uses=0, index_error_rate=0.0, note="no index: global mean")
    m_km, m_nn = max(m_km, 0), max(m_nn, 0)
    P_e = torch.stack([pe_km, g, pe_nn, prev], 1)
    P_d = torch.stack([pd_km, g, pd_nn, prev], 1)
    L = torch.tensor([USES - m_km, USES, USES - m_nn, USES], device=dev)
    out = []
    for i in range(0, n, bs):
        j = slice(i, i + bs)
        b = len(x[j])
        tx, eff = d.tx[j].expand(b, 4), d.eff[j].expand(b, 4)
        noise = d.noise[j][:, None].expand(b, 4, 2 * USES).reshape(b * 4, 2 * USES)
        r = fused_forward(enc, dec, x[j], P_e[j], P_d[j], tx, eff, eff, L[None].expand(b, 4), amp=False, noise=noise)
        out.append((r - x[j][:, None]).pow(2).flatten(2).mean(2))
    return torch.cat(out), info


def psnr_of(mse):
    return 10 * torch.log10(1 / mse.clamp_min(1e-10))


# ---------------------------------------------------------------- near-duplicates
@torch.no_grad()
def near_duplicates(xte_u8, xtr_u8, dev, thr=0.9):
    """Test images whose mean-removed pixels have cosine similarity >= thr with a training image or its mirror."""
    def norm(a):
        a = a.flatten(1)
        a = a - a.mean(1, keepdim=True)
        return a / a.norm(dim=1, keepdim=True).clamp_min(1e-6)
    T = torch.from_numpy(xtr_u8).to(dev).permute(0, 3, 1, 2).float() / 255
    T = norm(torch.cat([T, T.flip(3)]))
    Q = norm(torch.from_numpy(xte_u8).to(dev).permute(0, 3, 1, 2).float() / 255)
    best, arg = [], []
    for i in range(0, len(Q), 2048):
        v, j = (Q[i:i + 2048] @ T.T).max(1)
        best.append(v)
        arg.append(j)
    best = torch.cat(best)
    return (best >= thr).cpu(), best.cpu(), (torch.cat(arg) % len(xtr_u8)).cpu()


# ---------------------------------------------------------------- Kodak
def kodak_images():
    from PIL import Image
    from models.common.data import kodak_files
    return [np.asarray(Image.open(p).convert("RGB")) for p in kodak_files()[:2 if SMOKE else 24]]


def tiles_of(a, tile=32):
    h, w = a.shape[0] // tile * tile, a.shape[1] // tile * tile
    return a[:h, :w].reshape(h // tile, tile, w // tile, tile, 3).transpose(0, 2, 1, 3, 4).reshape(-1, tile, tile, 3)


def kodak_sequences(imgs, seed=11):
    """Current frame = the central 480x736 (or 736x480) crop; earlier frame = the crop shifted by up to 3 pixels
    each way, with a gain in [0.8, 1.2], a colour offset of up to +-0.04 and noise of 0.01 (float, [0, 1])."""
    rng = np.random.default_rng(seed)
    cur, prev, meta = [], [], []
    for a in imgs:
        H, W = (480, 736) if a.shape[0] < a.shape[1] else (736, 480)
        y0, x0 = (a.shape[0] - H) // 2, (a.shape[1] - W) // 2
        dy, dx = rng.integers(-3, 4, 2)
        g, b = rng.uniform(0.8, 1.2), rng.uniform(-0.04, 0.04, 3)
        c = a[y0:y0 + H, x0:x0 + W].astype(np.float32) / 255
        p = a[y0 + dy:y0 + dy + H, x0 + dx:x0 + dx + W].astype(np.float32) / 255
        p = np.clip(g * p + b + rng.normal(0, 0.01, p.shape), 0, 1).astype(np.float32)
        cur.append(c)
        prev.append(p)
        meta.append(dict(shift=[int(dy), int(dx)], gain=round(float(g), 3), offset=[round(float(v), 3) for v in b]))
    return cur, prev, meta


def whole_psnr(mse_tiles, counts):
    """Per-image PSNR from its tiles' MSE (equal-size tiles), averaged over images."""
    out, i = [], 0
    for c in counts:
        out.append(psnr_of(mse_tiles[i:i + c].mean()).item())
        i += c
    return float(np.mean(out)), out
