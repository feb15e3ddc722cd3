"""Helpers shared by the training scripts: time-budgeted schedules, GPU batches, checkpoints, logging."""
from __future__ import annotations

import json
import math
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.normpath(os.path.join(HERE, "..", "..")))

from models.common.channel import awgn, power_normalize  # noqa: E402


def log(tag: str, *msg):
    print(f"[{time.strftime('%H:%M:%S')}] {tag}:", *msg, flush=True)


def device():
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def autocast(dev, enabled: bool = True):
    if dev.type == "cuda" and enabled:
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return torch.autocast("cpu", enabled=False)


class Clock:
    """Training runs until a wall-clock deadline; the learning rate follows the elapsed fraction."""

    def __init__(self, seconds: float, start: float | None = None):
        self.start = start or time.time()
        self.seconds = max(1.0, seconds)

    def frac(self) -> float:
        return min(1.0, (time.time() - self.start) / self.seconds)

    def done(self) -> bool:
        return self.frac() >= 1.0


def lr_at(frac: float, base: float, warm: float = 0.03, floor: float = 0.02) -> float:
    if frac < warm:
        return base * (0.1 + 0.9 * frac / warm)
    t = (frac - warm) / (1 - warm)
    return base * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * t)))


def set_lr(opt, lr):
    for g in opt.param_groups:
        g["lr"] = lr


class Batches:
    """Random batches from a uint8 NHWC array held on the device, with horizontal flips."""

    def __init__(self, x_u8: np.ndarray, dev, seed: int = 0):
        self.x = torch.from_numpy(x_u8).to(dev).permute(0, 3, 1, 2).contiguous()
        self.g = torch.Generator(device=dev)
        self.g.manual_seed(seed)
        self.dev = dev

    def __len__(self):
        return self.x.shape[0]

    def sample(self, bs: int, flip: bool = True):
        idx = torch.randint(0, len(self), (bs,), device=self.dev, generator=self.g)
        x = self.x[idx].float() / 255.0
        f = torch.zeros(bs, dtype=torch.bool, device=self.dev)
        if flip:
            f = torch.rand(bs, device=self.dev, generator=self.g) < 0.5
            x = torch.where(f[:, None, None, None], x.flip(3), x)
        self.last_flip = f
        return x, idx


def to_float(x_u8: np.ndarray, dev) -> torch.Tensor:
    return torch.from_numpy(x_u8).to(dev).permute(0, 3, 1, 2).float() / 255.0


def jscc_forward(enc, dec, x, G: int, c: int, snr_model, snr_chan, gen=None, amp: bool = True):
    """Grouped Deep JSCC pass. x [B,3,32,32]; snr_model, snr_chan [B, G] (dB). Returns [B, G, 3, 32, 32].
    The latent of each copy is power-normalized over its 2k = c*64 reals and goes through AWGN at snr_chan
    (a Rayleigh channel enters as its effective SNR)."""
    B = x.shape[0]
    dev = x.device
    with autocast(dev, amp):
        z = enc(x.repeat(1, G, 1, 1), snr_model)
    z = power_normalize(z.float().reshape(B * G, c * 64))
    y = awgn(z, snr_chan.reshape(B * G, 1), gen).reshape(B, G * c, 8, 8)
    with autocast(dev, amp):
        out = dec(y, snr_model)
    return out.float().reshape(B, G, 3, 32, 32)


def save_atomic(obj, path: str):
    tmp = path + ".tmp"
    torch.save(obj, tmp)
    os.replace(tmp, path)


def save_json(obj, path: str):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
    os.replace(tmp, path)


def state_cpu(m):
    return {k: v.detach().float().cpu() for k, v in m.state_dict().items()}


def state_cpu16(m):
    """Weights as float16 (call round_fp16 first so that what is evaluated is what is saved)."""
    return {k: (v.detach().cpu().half() if v.is_floating_point() else v.detach().cpu()) for k, v in m.state_dict().items()}


@torch.no_grad()
def round_fp16(*modules):
    for m in modules:
        for p in m.parameters():
            p.copy_(p.half().float())


def load_ckpt(path: str):
    """torch.load that also reads pickles holding numpy 2 arrays under numpy 1 (numpy._core -> numpy.core)."""
    try:
        import numpy._core  # noqa: F401
    except ImportError:
        import numpy.core
        sys.modules.setdefault("numpy._core", numpy.core)
        for sub in ("multiarray", "numeric", "_multiarray_umath"):
            if hasattr(numpy.core, sub):
                sys.modules.setdefault(f"numpy._core.{sub}", getattr(numpy.core, sub))
    return torch.load(path, map_location="cpu", weights_only=False)
