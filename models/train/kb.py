"""Build the source knowledge base from the CIFAR-10 training split only.

1. Vision encoder (cloud, the LVM's stand-in): a small CNN trained on the training split to predict the
   class and an 8x8 thumbnail from a 64-dim embedding (so the embedding holds both meaning and look).
2. k-means on the training embeddings for each KB size K; entry k's prior is the mean image of its
   members (stored as uint8); its key is the centroid.
3. Edge embedder: a small CNN distilled to reproduce the vision encoder's embedding; the transmitter picks
   the entry whose key is nearest to its embedding.
Test images never enter the KB; their distance to the nearest key and the PSNR of their prior are reported.
"""
from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as Fn

from models.common.metrics import psnr
from models.common.nets import Embedder, VisionEncoder
from models.train.common import Batches, Clock, autocast, log, lr_at, set_lr, state_cpu, to_float

KB_SIZES = [16, 64, 256, 1024]


def _train(model, data, seconds, step_fn, lr=2e-3, bs=256, tag="kb"):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    clock, steps = Clock(seconds), 0
    model.train()
    while not clock.done():
        set_lr(opt, lr_at(clock.frac(), lr))
        x, idx = data.sample(bs)
        with autocast(x.device):
            loss = step_fn(model, x, idx)
        opt.zero_grad(set_to_none=True)
        loss.float().backward()
        opt.step()
        steps += 1
        if steps % 500 == 0:
            log(tag, f"step {steps} loss {loss.item():.4f}")
    model.eval()
    return steps


@torch.no_grad()
def embed(model, x_u8, dev, flip=False, bs=5000):
    out = []
    for i in range(0, len(x_u8), bs):
        x = to_float(x_u8[i:i + bs], dev)
        if flip:
            x = x.flip(3)
        with autocast(dev):
            out.append(model(x).float())
    return torch.cat(out)


@torch.no_grad()
def kmeans(E, K, iters=25, seed=0):
    g = torch.Generator(device=E.device).manual_seed(seed)
    if K <= len(E):
        C = E[torch.randperm(len(E), generator=g, device=E.device)[:K]].clone()
    else:  # only in tiny smoke tests
        C = E[torch.randint(0, len(E), (K,), generator=g, device=E.device)].clone()
    for _ in range(iters):
        a = torch.cdist(E, C).argmin(1)
        cnt = torch.bincount(a, minlength=K).float()
        S = torch.zeros_like(C).index_add_(0, a, E)
        empty = cnt == 0
        C = torch.where(empty[:, None], E[torch.randint(0, len(E), (K,), generator=g, device=E.device)],
                        S / cnt.clamp_min(1)[:, None])
    return C, torch.cdist(E, C).argmin(1)


@torch.no_grad()
def nearest(E, C, bs=10000):
    return torch.cat([torch.cdist(E[i:i + bs], C).argmin(1) for i in range(0, len(E), bs)])


@torch.no_grad()
def oracle_entry(x_u8, priors_u8, dev, bs=1000):
    """Entry with the least pixel MSE (what a transmitter with the whole KB could pick)."""
    P = to_float(priors_u8, dev).flatten(1)
    out = []
    for i in range(0, len(x_u8), bs):
        X = to_float(x_u8[i:i + bs], dev).flatten(1)
        d = (X * X).sum(1, keepdim=True) - 2 * X @ P.T + (P * P).sum(1)[None]
        out.append(d.argmin(1))
    return torch.cat(out)


def build(xtr, ytr, xte, yte, dev, seconds_vis=40.0, seconds_emb=30.0, Ks=KB_SIZES, D=64, seed=3):
    t0 = time.time()
    torch.manual_seed(seed)
    data = Batches(xtr, dev, seed)
    y = torch.from_numpy(ytr.astype(np.int64)).to(dev)
    vis = VisionEncoder(D).to(dev).to(memory_format=torch.channels_last)

    def vis_step(m, x, idx):
        e = m(x)
        return Fn.cross_entropy(m.cls(e), y[idx]) + 20 * Fn.mse_loss(m.thumb(e), Fn.avg_pool2d(x, 4).flatten(1))
    vsteps = _train(vis, data, seconds_vis, vis_step, tag="vision")
    E_tr, E_trf, E_te = embed(vis, xtr, dev), embed(vis, xtr, dev, flip=True), embed(vis, xte, dev)
    with torch.no_grad():
        acc = (vis.cls(E_te).argmax(1).cpu().numpy() == yte).mean().item()
    log("kb", f"vision encoder {vsteps} steps, {time.time() - t0:.0f}s, test class accuracy {acc:.3f}")

    emb = Embedder(D).to(dev)
    targets = torch.stack([E_tr, E_trf], 1)  # [N, 2, D]

    def emb_step(m, x, idx):
        t = targets[idx, data.last_flip.long()]  # the target of a mirrored image is its mirrored embedding
        return Fn.mse_loss(m(x).float(), t)
    esteps = _train(emb, data, seconds_emb, emb_step, tag="embedder")
    Q_tr, Q_trf, Q_te = embed(emb, xtr, dev), embed(emb, xtr, dev, flip=True), embed(emb, xte, dev)
    log("kb", f"embedder {esteps} steps, {time.time() - t0:.0f}s")

    xtr_f = to_float(xtr, dev)
    xte_f = to_float(xte, dev)
    gmean = (xtr_f.mean(0).permute(1, 2, 0) * 255).round().clamp(0, 255).byte().cpu().numpy()
    out = dict(D=D, vision=state_cpu(vis), embedder=state_cpu(emb), gmean=torch.from_numpy(gmean), Ks=list(Ks), keys={}, priors={},
               sel_train={}, sel_train_flip={}, sel_test={}, stats=[],
               train=dict(vision_steps=vsteps, embedder_steps=esteps, seconds_vision=seconds_vis,
                          seconds_embedder=seconds_emb, seed=seed, data="cifar10 train split (50,000)",
                          vision_test_class_accuracy=round(acc, 4)))
    gm = torch.from_numpy(gmean).to(dev).permute(2, 0, 1).float() / 255
    for K in Ks:
        C, assign = kmeans(E_tr, K, seed=seed + K)
        cnt = torch.bincount(assign, minlength=K).float().clamp_min(1)
        S = torch.zeros(K, 3 * 32 * 32, device=dev).index_add_(0, assign, xtr_f.flatten(1))
        pri = (S / cnt[:, None]).reshape(K, 3, 32, 32)
        pri = torch.where((torch.bincount(assign, minlength=K) == 0)[:, None, None, None], gm[None], pri)
        pri_u8 = (pri.permute(0, 2, 3, 1) * 255).round().clamp(0, 255).byte().cpu().numpy()
        sel_tr, sel_trf, sel_te = nearest(Q_tr, C), nearest(Q_trf, C), nearest(Q_te, C)
        cloud_te = nearest(E_te, C)
        P = to_float(pri_u8, dev)
        orc = oracle_entry(xte, pri_u8, dev)
        d_te = torch.cdist(Q_te, C).min(1).values
        d_tr = torch.cdist(Q_tr[:10000], C).min(1).values
        st = dict(K=K, agreement_edge_vs_cloud=round((sel_te == cloud_te).float().mean().item(), 4),
                  prior_psnr_edge=round(psnr(P[sel_te], xte_f).mean().item(), 3),
                  prior_psnr_cloud=round(psnr(P[cloud_te], xte_f).mean().item(), 3),
                  prior_psnr_oracle=round(psnr(P[orc], xte_f).mean().item(), 3),
                  prior_psnr_global_mean=round(psnr(gm[None].expand_as(xte_f), xte_f).mean().item(), 3),
                  key_distance_test_mean=round(d_te.mean().item(), 4),
                  key_distance_train_mean=round(d_tr.mean().item(), 4),
                  empty_entries=int((torch.bincount(assign, minlength=K) == 0).sum().item()))
        log("kb", st)
        out["stats"].append(st)
        out["keys"][K] = C.cpu()
        out["priors"][K] = torch.from_numpy(pri_u8)
        out["sel_train"][K] = sel_tr.cpu()
        out["sel_train_flip"][K] = sel_trf.cpu()
        out["sel_test"][K] = sel_te.cpu()
        out.setdefault("oracle_test", {})[K] = orc.cpu()
    log("kb", f"built in {time.time() - t0:.0f}s")
    return out
