"""Stable training for issue 15's grouped models: a step schedule that continues across calls without a
learning-rate rise, per-copy gradient clipping, and a resume bundle that travels back through $OUT.

Schedule. The state holds (p0, s0, total): progress p = p0 + (1 - p0) * (step - s0) / (total - s0) runs from 0
to 1 and the learning rate is warm-up then cosine in p (lr_sched). `refit` moves the end of the run (total) and
rebases (p0, s0) at the current step first, so p, and the learning rate, are continuous at every refit and at
every resume; only the speed at which the rest of the cosine is walked changes.

Clipping. Every parameter of a grouped network has its copies stacked along dim 0 (models/common/nets.py,
extract_fused), so p.grad.view(G, -1) splits a gradient by copy. Copy g's gradient norm is clipped to
clip * (its running mean norm); the mean is updated with the clipped norm. One copy's spike changes nothing
in the other copies' updates (a global clip would couple them).
"""
from __future__ import annotations

import io
import math
import os

import torch

from models.train.common import load_ckpt

CHUNK = 15 * 1024 * 1024  # files that come back from $OUT are limited to 16 MiB each


def lr_sched(p, base, warm=0.03, floor=0.02):
    if p < warm:
        return base * (0.1 + 0.9 * p / warm)
    t = min(1.0, (p - warm) / (1 - warm))
    return base * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * t)))


def progress(st):
    s0, p0 = st.get("s0", 0), st.get("p0", 0.0)
    return min(1.0, p0 + (1 - p0) * (st["step"] - s0) / max(1, st["total"] - s0))


def refit(st, new_total):
    """End the run at new_total steps; the learning rate stays continuous at the current step."""
    st["p0"] = progress(st)
    st["s0"] = st["step"]
    st["total"] = int(max(st["step"] + 1, new_total))


class CopyClip:
    """Per-copy gradient clipping at factor x the copy's running mean gradient norm (after `warm` steps)."""

    def __init__(self, G, factor, warm=200, beta=0.99, state=None):
        self.G, self.factor, self.warm, self.beta = G, factor, warm, beta
        state = state or {}
        self.mean = state.get("mean")
        self.n = state.get("n", 0)
        self.clipped = [0] * G
        self.max_ratio = [0.0] * G

    def state(self):
        return dict(mean=self.mean, n=self.n)

    @torch.no_grad()
    def __call__(self, params):
        grads = [p.grad for p in params if p.grad is not None]
        sq = torch.stack([g.float().reshape(self.G, -1).pow(2).sum(1) for g in grads]).sum(0)
        norm = sq.sqrt()                                                   # [G]
        nl = norm.tolist()
        if self.mean is None:
            self.mean = nl
        if self.factor > 0 and self.n >= self.warm:
            thr = torch.tensor([self.factor * m for m in self.mean], device=norm.device)
            scale = (thr / norm.clamp_min(1e-12)).clamp(max=1.0)
            if bool((scale < 1).any()):
                for g in grads:
                    g.view(self.G, -1).mul_(scale.to(g.dtype)[:, None])
                for i, (v, m) in enumerate(zip(nl, self.mean)):
                    if v > self.factor * m:
                        self.clipped[i] += 1
                        self.max_ratio[i] = max(self.max_ratio[i], v / m)
            nl = [min(v, self.factor * m) for v, m in zip(nl, self.mean)]
        b = self.beta if self.n >= 20 else 0.5
        self.mean = [b * m + (1 - b) * v for m, v in zip(self.mean, nl)]
        self.n += 1
        return nl

    def report(self):
        out = dict(clipped_steps=list(self.clipped), max_norm_over_mean=[round(r, 2) for r in self.max_ratio],
                   mean_norm=[round(m, 5) for m in (self.mean or [])])
        self.clipped = [0] * self.G
        self.max_ratio = [0.0] * self.G
        return out


def moments16(opt_state):
    """Adam state with its moments as bfloat16 (half the bytes; the range of float32)."""
    st = {k: dict(v) for k, v in opt_state["state"].items()}
    for v in st.values():
        for key in ("exp_avg", "exp_avg_sq"):
            if key in v:
                v[key] = v[key].detach().cpu().to(torch.bfloat16)
        if "step" in v and torch.is_tensor(v["step"]):
            v["step"] = v["step"].cpu()
    return dict(state=st, param_groups=opt_state["param_groups"])


def moments32(opt_state):
    for v in opt_state["state"].values():
        for key in ("exp_avg", "exp_avg_sq"):
            if key in v:
                v[key] = v[key].float()
    return opt_state


def write_bundle(obj, out_dir, name="resume"):
    """torch.save(obj) split into files of at most 15 MiB: name.000, name.001, ..."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    data = buf.getvalue()
    for f in os.listdir(out_dir):
        if f.startswith(name + "."):
            os.remove(os.path.join(out_dir, f))
    for i in range(0, len(data), CHUNK):
        with open(os.path.join(out_dir, f"{name}.{i // CHUNK:03d}"), "wb") as f:
            f.write(data[i:i + CHUNK])
    return len(data)


def read_bundle(folder, name="resume"):
    parts = sorted(f for f in os.listdir(folder) if f.startswith(name + ".") and f[len(name) + 1:].isdigit())
    if not parts:
        raise FileNotFoundError(f"no {name}.NNN in {folder}")
    data = b"".join(open(os.path.join(folder, f), "rb").read() for f in parts)
    tmp = os.path.join(folder, f".{name}.joined")
    with open(tmp, "wb") as f:
        f.write(data)
    try:
        return load_ckpt(tmp)
    finally:
        os.remove(tmp)


def unpack(src, dst, name="resume_akbx"):
    """A resume bundle -> what export and evaluation read: akbx.pt (the weights as evaluated, no Adam state), kb_fixed.pt,
    index_uses_big.json, choices.json."""
    import json

    from models.train.common import save_atomic
    bd = read_bundle(src, name)
    os.makedirs(dst, exist_ok=True)
    ck = dict(bd["ck"])
    ck.pop("opt", None)
    save_atomic(ck, os.path.join(dst, name.replace("resume_", "") + ".pt"))
    if "kb" in bd:
        save_atomic(bd["kb"], os.path.join(dst, "kb_fixed.pt"))
        json.dump(bd["big"], open(os.path.join(dst, "index_uses_big.json"), "w"))
    if bd.get("choices"):
        json.dump(bd["choices"], open(os.path.join(dst, "choices.json"), "w"), indent=1)
    return ck["state"]


if __name__ == "__main__":
    import sys
    if len(sys.argv) != 4 or sys.argv[1] != "unpack":
        sys.exit("usage: python3 -m models.train.fixed_steps unpack SRC_DIR DST_DIR")
    s = unpack(sys.argv[2], sys.argv[3])
    print(f"step {s['step']} of {s['total']}, {s['epochs']:.1f} epochs")
