"""Networks. Every JSCC network is written for G independent copies trained side by side (grouped
convolutions: copy g owns channel block g of every layer), so one GPU process trains G models with one
kernel per layer. G = 1 is the plain model that is exported; `extract` slices copy g out.

Deep JSCC (Bourtsoulatze, Kurka, Gunduz 2019): encoder of five 5x5 convolutions (strides 2,2,1,1,1)
with PReLU, decoder of five 5x5 transposed convolutions (strides 1,1,1,2,2), sigmoid output. Here the
hidden width is F (64; the paper used 16/32) and, optionally, a FiLM layer after each PReLU scales and
shifts channels as a function of the SNR (the SNR-adaptive variant; for fixed-SNR models the SNR input
is a constant and FiLM is a learned per-channel affine).
"""
from __future__ import annotations

import copy

import torch
import torch.nn as nn


def conv(G, cin, cout, k=5, s=1, transpose=False):
    if transpose:
        return nn.ConvTranspose2d(G * cin, G * cout, k, s, k // 2, output_padding=s - 1, groups=G)
    return nn.Conv2d(G * cin, G * cout, k, s, k // 2, groups=G)


def cat_groups(G, *ts):
    """Concatenate per-group channel blocks: each t is [N, G*C_t, H, W]."""
    N, _, H, W = ts[0].shape
    return torch.cat([t.reshape(N, G, -1, H, W) for t in ts], 2).reshape(N, -1, H, W)


class Film(nn.Module):
    def __init__(self, G, F, hidden=32):
        super().__init__()
        self.G, self.F = G, F
        self.l1 = nn.Conv2d(G, G * hidden, 1, groups=G)
        self.act = nn.PReLU(G * hidden)
        self.l2 = nn.Conv2d(G * hidden, G * 2 * F, 1, groups=G)
        nn.init.zeros_(self.l2.weight)
        nn.init.zeros_(self.l2.bias)

    def forward(self, h, snr):  # snr: [N, G] in dB
        N = h.shape[0]
        gb = self.l2(self.act(self.l1((snr / 20.0)[:, :, None, None].to(h.dtype))))
        gb = gb.reshape(N, self.G, 2, self.F, 1, 1)
        gamma = gb[:, :, 0].reshape(N, self.G * self.F, 1, 1)
        beta = gb[:, :, 1].reshape(N, self.G * self.F, 1, 1)
        return h * (1 + gamma) + beta


class Encoder(nn.Module):
    """[N, G*in_ch, 32, 32] -> [N, G*c_out, 8, 8] (not yet power-normalized)."""

    def __init__(self, G=1, in_ch=3, c_out=8, F=64, film=True):
        super().__init__()
        self.G, self.in_ch, self.c_out, self.F = G, in_ch, c_out, F
        spec = [(in_ch, F, 2), (F, F, 2), (F, F, 1), (F, F, 1)]
        self.convs = nn.ModuleList([conv(G, a, b, 5, s) for a, b, s in spec])
        self.acts = nn.ModuleList([nn.PReLU(G * F) for _ in spec])
        self.films = nn.ModuleList([Film(G, F) for _ in spec]) if film else None
        self.out = conv(G, F, c_out, 5, 1)

    def forward(self, x, snr=None):
        h = x
        for i, (c, a) in enumerate(zip(self.convs, self.acts)):
            h = a(c(h))
            if self.films is not None:
                h = self.films[i](h, snr)
        return self.out(h)


class Decoder(nn.Module):
    """[N, G*c_in, 8, 8] (+ prior [N, G*3, 32, 32]) -> [N, G*3, 32, 32] in (0, 1)."""

    def __init__(self, G=1, c_in=8, F=64, film=True, prior=False):
        super().__init__()
        self.G, self.c_in, self.F, self.use_prior = G, c_in, F, prior
        h = F // 2
        if prior:
            self.pe = nn.ModuleList([conv(G, 3, h, 5, 2), conv(G, h, h, 5, 2)])
            self.pa = nn.ModuleList([nn.PReLU(G * h), nn.PReLU(G * h)])
        first = c_in + (h if prior else 0)
        spec = [(first, F, 1), (F, F, 1), (F, F, 1), (F, h, 2)]
        self.convs = nn.ModuleList([conv(G, a, b, 5, s, transpose=True) for a, b, s in spec])
        self.acts = nn.ModuleList([nn.PReLU(G * b) for _, b, _ in spec])
        self.films = nn.ModuleList([Film(G, b) for _, b, _ in spec]) if film else None
        self.out = conv(G, h, 3, 5, 2, transpose=True)

    def forward(self, y, snr=None, prior=None):
        h = y
        if self.use_prior:
            p = prior
            for c, a in zip(self.pe, self.pa):
                p = a(c(p))
            h = cat_groups(self.G, h, p)
        for i, (c, a) in enumerate(zip(self.convs, self.acts)):
            h = a(c(h))
            if self.films is not None:
                h = self.films[i](h, snr)
        r = self.out(h)
        if self.use_prior:
            pc = prior.clamp(0.01, 0.99)
            r = r + torch.log(pc / (1 - pc))
        return torch.sigmoid(r)


def extract(model: nn.Module, g: int, **overrides) -> nn.Module:
    """Copy g of a grouped model as a G = 1 model (every parameter's dim 0 is G blocks)."""
    G = model.G
    kw = {k: getattr(model, k) for k in ("in_ch", "c_out", "c_in", "F") if hasattr(model, k)}
    if isinstance(model, Decoder):
        kw["prior"] = model.use_prior
    kw["film"] = model.films is not None
    kw.update(overrides)
    single = type(model)(G=1, **kw)
    src = dict(model.named_parameters())
    with torch.no_grad():
        for name, p in single.named_parameters():
            block = src[name].detach().chunk(G, 0)[g]
            if block.shape != p.shape:  # fewer input channels kept (e.g. an encoder that saw zeros)
                block = block[:, : p.shape[1]]
            p.copy_(block)
    return single


# ---------------------------------------------------------------- source KB networks
class VisionEncoder(nn.Module):
    """Cloud-side stand-in for the LVM: a small CNN trained on the CIFAR-10 training split to predict the
    class and an 8x8 thumbnail from a D-dim embedding. Output: embedding [N, D]."""

    def __init__(self, D=64, w=64):
        super().__init__()

        def block(a, b):
            return nn.Sequential(nn.Conv2d(a, b, 3, 1, 1), nn.BatchNorm2d(b), nn.ReLU(inplace=True),
                                 nn.Conv2d(b, b, 3, 1, 1), nn.BatchNorm2d(b), nn.ReLU(inplace=True))
        self.body = nn.Sequential(block(3, w), nn.MaxPool2d(2), block(w, 2 * w), nn.MaxPool2d(2),
                                  block(2 * w, 4 * w), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                  nn.Linear(4 * w, D))
        self.cls = nn.Linear(D, 10)
        self.thumb = nn.Linear(D, 8 * 8 * 3)

    def forward(self, x):
        return self.body(x)


class Embedder(nn.Module):
    """Edge-side small embedding model, distilled to reproduce the vision encoder's embedding."""

    def __init__(self, D=64, w=32):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, w, 3, 2, 1), nn.ReLU(inplace=True),
            nn.Conv2d(w, 2 * w, 3, 2, 1), nn.ReLU(inplace=True),
            nn.Conv2d(2 * w, 2 * w, 3, 2, 1), nn.ReLU(inplace=True),
            nn.Flatten(), nn.Linear(2 * w * 16, D))

    def forward(self, x):
        return self.body(x)


def count_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def clone_cpu(m: nn.Module) -> nn.Module:
    return copy.deepcopy(m).cpu().float().eval()
