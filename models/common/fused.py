"""Fixed-rate AKB-JSCC networks: a Deep JSCC (width F, k/n = 1/12: 8 latent channels of 8x8 = 256 complex
symbols) whose encoder and decoder each own a small side encoder. The side encoder turns the prior (a KB
entry's image, a retrieved training image, a camera's earlier frame, or the global mean for the no-KB twin)
into features at 16x16 and 8x8, and those features are concatenated to the input of every stage of the
encoder and of the decoder (fusion at every scale, as DeepJSCC-WZ does). The decoder's output is
sigmoid(r + w * logit(prior)) with a learned per-channel w (0 at the start).

Every layer is grouped: G copies train side by side as one network (copy g owns block g of every layer's
channels, models/common/nets.py), `extract_fused` slices one copy out as a G = 1 model for export.
Conditioning: FiLM after each PReLU on (snr_db / 20, length / 256), length = latent symbols sent (256 minus
the index symbols). The decoder also sees the mask of symbols sent (8 channels of 8x8).
"""
from __future__ import annotations

import torch
import torch.nn as nn

from models.common.nets import cat_groups, conv

C_LAT = 8                 # latent channels at 8x8: 8 * 64 reals = 256 complex symbols
USES = C_LAT * 32         # 256 complex channel uses: k/n = 1/12 of a 32x32x3 image


class Film2(nn.Module):
    """Per-channel scale and shift from (snr_db/20, length/256), grouped."""

    def __init__(self, G, F, hidden=32):
        super().__init__()
        self.G, self.F = G, F
        self.l1 = nn.Conv2d(G * 2, G * hidden, 1, groups=G)
        self.act = nn.PReLU(G * hidden)
        self.l2 = nn.Conv2d(G * hidden, G * 2 * F, 1, groups=G)
        nn.init.zeros_(self.l2.weight)
        nn.init.zeros_(self.l2.bias)

    def forward(self, h, cond):  # cond [N, G, 2]
        N = h.shape[0]
        gb = self.l2(self.act(self.l1(cond.reshape(N, self.G * 2, 1, 1).to(h.dtype))))
        gb = gb.reshape(N, self.G, 2, self.F, 1, 1)
        return h * (1 + gb[:, :, 0].reshape(N, self.G * self.F, 1, 1)) + gb[:, :, 1].reshape(N, self.G * self.F, 1, 1)


class SideEncoder(nn.Module):
    """prior [N, G*3, 32, 32] -> (s16 [N, G*S, 16, 16], s8a, s8b [N, G*S, 8, 8])."""

    def __init__(self, G, S=32):
        super().__init__()
        self.G, self.S = G, S
        self.c1, self.c2, self.c3 = conv(G, 3, S, 5, 2), conv(G, S, S, 5, 2), conv(G, S, S, 3, 1)
        self.a1, self.a2, self.a3 = nn.PReLU(G * S), nn.PReLU(G * S), nn.PReLU(G * S)

    def forward(self, p):
        s16 = self.a1(self.c1(p * 2 - 1))
        s8a = self.a2(self.c2(s16))
        s8b = self.a3(self.c3(s8a))
        return s16, s8a, s8b


class FusedEncoder(nn.Module):
    """(image, prior) [N, G*3, 32, 32] each, cond [N, G, 2] -> [N, G*C_LAT, 8, 8] (not power-normalized)."""

    def __init__(self, G=1, F=64, S=32, c_out=C_LAT):
        super().__init__()
        self.G, self.F, self.S, self.c_out = G, F, S, c_out
        self.side = SideEncoder(G, S)
        spec = [(6, F, 2), (F + S, F, 2), (F + S, F, 1), (F + S, F, 1)]
        self.convs = nn.ModuleList([conv(G, a, b, 5, s) for a, b, s in spec])
        self.acts = nn.ModuleList([nn.PReLU(G * F) for _ in spec])
        self.films = nn.ModuleList([Film2(G, F) for _ in spec])
        self.out = conv(G, F + S, c_out, 5, 1)

    def forward(self, x, prior, cond):
        G = self.G
        s16, s8a, s8b = self.side(prior)
        h = cat_groups(G, x, prior)
        for i, side in enumerate((None, s16, s8a, s8b)):
            if side is not None:
                h = cat_groups(G, h, side)
            h = self.films[i](self.acts[i](self.convs[i](h)), cond)
        return self.out(cat_groups(G, h, s8b))


class FusedDecoder(nn.Module):
    """(received latent [N, G*C, 8, 8], its mask [N, G*C, 8, 8], prior [N, G*3, 32, 32], cond) -> image."""

    def __init__(self, G=1, F=64, S=32, c_in=C_LAT):
        super().__init__()
        self.G, self.F, self.S, self.c_in = G, F, S, c_in
        h = F // 2
        self.side = SideEncoder(G, S)
        spec = [(2 * c_in + S, F, 1), (F + S, F, 1), (F + S, F, 1), (F + S, h, 2)]
        self.convs = nn.ModuleList([conv(G, a, b, 5, s, transpose=True) for a, b, s in spec])
        self.acts = nn.ModuleList([nn.PReLU(G * b) for _, b, _ in spec])
        self.films = nn.ModuleList([Film2(G, b) for _, b, _ in spec])
        self.out = conv(G, h + S, 3, 5, 2, transpose=True)
        self.w = nn.Parameter(torch.zeros(G * 3))

    def forward(self, y, mask, prior, cond):
        G = self.G
        s16, s8a, s8b = self.side(prior)
        h = cat_groups(G, y, mask)
        for i, side in enumerate((s8b, s8b, s8a, s8a)):
            h = cat_groups(G, h, side)
            h = self.films[i](self.acts[i](self.convs[i](h)), cond)
        r = self.out(cat_groups(G, h, s16))
        pc = prior.clamp(0.01, 0.99)
        return torch.sigmoid(r + self.w[None, :, None, None] * torch.log(pc / (1 - pc)))


def extract_fused(model: nn.Module, g: int) -> nn.Module:
    """Copy g of a grouped FusedEncoder/FusedDecoder as a G = 1 model."""
    G = model.G
    kw = dict(F=model.F, S=model.S)
    kw["c_out" if isinstance(model, FusedEncoder) else "c_in"] = model.c_out if isinstance(model, FusedEncoder) else model.c_in
    single = type(model)(G=1, **kw)
    src = dict(model.named_parameters())
    with torch.no_grad():
        for name, p in single.named_parameters():
            p.copy_(src[name].detach().chunk(G, 0)[g])
    return single
