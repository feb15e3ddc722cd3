"""AKB-JSCC: a bandwidth-agile Deep JSCC conditioned on a source-KB prior, trained side by side with two
ablations (grouped copies of one network):
  copy 0 "akb":         encoder and decoder both take the prior (image channels), the channel carries the rest
  copy 1 "akb-deconly": the prior at the decoder only (the encoder sees zeros in its place)
  copy 2 "akb-nokb":    no source KB: the prior is always the global mean image and no index is sent

Frame of B complex channel uses (B = the rate action, 32..512): the KB entry index first, as m QPSK
symbols of a fixed pseudo-random code decoded by maximum correlation (m from the transmitter's SNR,
models/common/channel.py::index_length), then the first L = B - m latent symbols. The latent is
16x8x8 reals = 512 complex symbols, ordered channel-major, power-normalized over the L symbols sent;
the decoder is trained on random prefixes (unsent = 0, plus a mask input), so one model serves every rate.
KB size K is drawn per training sample from {1, 16, 64, 256, 1024}; K = 1 is the global mean, no index.

  python3 -m models.train.akb --seconds 300 --kb-seconds 70 --out OUT
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch
import torch.nn as nn

from models.common.channel import awgn, index_codebook, index_table, INDEX_MAX_LEN, send_index
from models.common.data import load_cifar, train_orig_index
from models.common.nets import Decoder, Encoder, cat_groups, count_params
from models.train.common import (Batches, Clock, autocast, device, load_ckpt, log, lr_at, round_fp16, save_atomic,
                                 set_lr,
                                 state_cpu16)

C_LAT = 16
MAX_USES = C_LAT * 32            # 512 complex symbols: k/n = 1/6
MIN_USES = 32
GROUP_NAMES = ["akb", "akb-deconly", "akb-nokb"]
SNR_RANGE = (-2.0, 20.0)


class AKBNet(nn.Module):
    def __init__(self, G=3, F=64):
        super().__init__()
        self.G, self.F = G, F
        self.enc = Encoder(G, 6, C_LAT, F, film=True)
        self.dec = Decoder(G, 2 * C_LAT, F, film=True, prior=True)


def latent_mask(L: torch.Tensor) -> torch.Tensor:
    """L [...] latent complex symbols sent -> mask [..., 1024] over the interleaved reals."""
    return (torch.arange(2 * MAX_USES, device=L.device) < 2 * L[..., None]).float()


def akb_forward(net, x, p_enc, p_dec, snr_model, snr_chan, L, gen=None, amp=True):
    """x [B,3,32,32]; p_enc, p_dec [B,G,3,32,32]; snr_model, snr_chan [B,G] dB; L [B,G] latent symbols."""
    G, B, dev = net.G, x.shape[0], x.device
    xin = torch.cat([x[:, None].expand(B, G, 3, 32, 32), p_enc], 2).reshape(B, G * 6, 32, 32)
    with autocast(dev, amp):
        z = net.enc(xin, snr_model)
    mask = latent_mask(L.reshape(B * G))
    z = z.float().reshape(B * G, 2 * MAX_USES) * mask
    z = z * torch.sqrt(L.reshape(B * G, 1).float() / z.pow(2).sum(1, keepdim=True).clamp_min(1e-12))
    y = awgn(z, snr_chan.reshape(B * G, 1), gen) * mask
    yin = cat_groups(G, y.reshape(B, G * C_LAT, 8, 8), mask.reshape(B, G * C_LAT, 8, 8))
    with autocast(dev, amp):
        out = net.dec(yin, snr_model, p_dec.reshape(B, G * 3, 32, 32))
    return out.float().reshape(B, G, 3, 32, 32)


class KBOnDevice:
    """The KB's priors, the index code and the index-length rule, on the training device."""

    def __init__(self, kb: dict, dev):
        self.Ks = [1] + list(kb["Ks"])
        self.gmean = torch.as_tensor(np.asarray(kb["gmean"])).to(dev).permute(2, 0, 1).float() / 255
        self.priors = {1: self.gmean[None]}
        for K in kb["Ks"]:
            self.priors[K] = torch.as_tensor(np.asarray(kb["priors"][K])).to(dev).permute(0, 3, 1, 2).float() / 255
        self.code = torch.from_numpy(index_codebook(max(self.Ks), INDEX_MAX_LEN)).to(dev)
        t = index_table()
        self.grid0 = t["snr_db"][0]
        self.uses = {K: torch.tensor(t["uses"][str(K)], device=dev) for K in self.Ks if K > 1}
        self.dev = dev

    def index_uses(self, K: int, snr_tx: torch.Tensor, budget: torch.Tensor) -> torch.Tensor:
        """Vectorized channel.index_length; -1 where the index would take more than half the budget."""
        if K <= 1:
            return torch.zeros_like(budget)
        k = torch.floor(snr_tx + 1e-9).long() - self.grid0
        tab = self.uses[K]
        m = tab[k.clamp(0, len(tab) - 1)]
        bad = (k < 0) | (m < 0) | (m > budget // 2)
        return torch.where(bad, torch.full_like(m, -1), m)

    def frame(self, Kc, sel, snr_tx, snr_eff, budget, gen=None):
        """Per sample: KB size Kc [B] (ints), chosen entry sel [B], transmitter SNR estimate snr_tx [B],
        effective SNR snr_eff [B], budget [B]. Returns (prior [B,3,32,32], index uses m [B], index error [B])."""
        B = Kc.shape[0]
        prior = self.gmean[None].expand(B, 3, 32, 32).clone()
        m = torch.zeros(B, dtype=torch.long, device=self.dev)
        err = torch.zeros(B, dtype=torch.bool, device=self.dev)
        for K in self.Ks[1:]:
            w = (Kc == K).nonzero().flatten()
            if len(w) == 0:
                continue
            mk = self.index_uses(K, snr_tx[w], budget[w])
            ok = mk >= 0
            w, mk = w[ok], mk[ok]
            if len(w) == 0:
                continue
            dec = send_index(sel[w], mk, snr_eff[w, None], self.code, K, gen)
            prior[w] = self.priors[K][dec]
            m[w] = mk
            err[w] = dec != sel[w]
        return prior, m, err


def group_priors(prior, gmean, B):
    g = gmean[None].expand(B, 3, 32, 32)
    p_enc = torch.stack([prior, torch.zeros_like(prior), g], 1)
    p_dec = torch.stack([prior, prior, g], 1)
    return p_enc, p_dec


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=300)
    ap.add_argument("--kb-seconds", type=float, default=70, help="vision encoder + embedder training")
    ap.add_argument("--eval-seconds", type=float, default=100)
    ap.add_argument("--out", required=True)
    ap.add_argument("--resume", default=None)
    ap.add_argument("--kb", default=None, help="reuse a built KB (kb.pt)")
    ap.add_argument("--F", type=int, default=64)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--train-limit", type=int, default=None)
    ap.add_argument("--test-limit", type=int, default=None)
    ap.add_argument("--kodak", action="store_true")
    ap.add_argument("--no-train", action="store_true")
    ap.add_argument("--skip-cifar", action="store_true", help="evaluate on Kodak only")
    a = ap.parse_args()
    t_start = time.time()
    os.makedirs(a.out, exist_ok=True)
    dev = device()
    torch.manual_seed(a.seed)
    torch.backends.cudnn.benchmark = True
    need_train = not a.no_train or not a.skip_cifar or not (a.kb and os.path.exists(a.kb))
    xtr, ytr = load_cifar("train", limit=a.train_limit) if need_train else (None, None)
    xte, yte = load_cifar("test", limit=a.test_limit) if not a.skip_cifar or need_train else (None, None)

    if a.kb and os.path.exists(a.kb):
        kb = load_ckpt(a.kb)
        log("akb", f"KB loaded from {a.kb}")
    else:
        from models.train.kb import build
        kb = build(xtr, ytr, xte, yte, dev, seconds_vis=a.kb_seconds * 0.55, seconds_emb=a.kb_seconds * 0.45)
        save_atomic(kb, os.path.join(a.out, "kb.pt"))
    kbt = KBOnDevice(kb, dev)

    net = AKBNet(3, a.F).to(dev)
    steps, seconds_done, epochs_done, K_main = 0, 0.0, 0.0, None
    if a.resume and os.path.exists(a.resume):
        ck = load_ckpt(a.resume)
        net.load_state_dict(ck["net"])
        steps, seconds_done = ck.get("steps", 0), ck.get("train_seconds", 0.0)
        epochs_done, K_main = ck.get("epochs", steps * ck.get("batch", a.batch) / 50000), ck.get("K_main")
        log("akb", f"resumed at step {steps}")
    log("akb", f"params/copy={count_params(net) // 3}")
    ckpt = os.path.join(a.out, "akb.pt")

    def save():
        save_atomic(dict(net=state_cpu16(net), steps=steps, train_seconds=seconds_done, epochs=epochs_done, G=3,
                         F=a.F, names=GROUP_NAMES, seed=a.seed, batch=a.batch, lr=a.lr, Ks=kbt.Ks, K_main=K_main), ckpt)

    if not a.no_train:
        data = Batches(xtr, dev, a.seed + steps)
        Ks = torch.tensor(kbt.Ks, device=dev)
        orig = torch.from_numpy(train_orig_index(limit=a.train_limit))  # KB selections index the full split
        zero = torch.zeros(len(xtr), dtype=torch.long)
        sel_all = torch.stack([torch.stack([zero, zero])] +
                              [torch.stack([kb["sel_train"][K].long()[orig], kb["sel_train_flip"][K].long()[orig]])
                               for K in kb["Ks"]]).to(dev)
        opt = torch.optim.Adam(net.parameters(), lr=a.lr)
        base_lr = a.lr if steps == 0 else a.lr * 0.3
        remaining = a.seconds - (time.time() - t_start)
        clock = Clock(remaining)
        log("akb", f"training for {remaining:.0f}s")
        run, t_save, t0, run_steps = None, time.time(), time.time(), 0
        B = a.batch
        while not clock.done():
            set_lr(opt, lr_at(clock.frac(), base_lr))
            x, idx = data.sample(B)
            snr = torch.empty(B, device=dev).uniform_(*SNR_RANGE)
            budget = torch.randint(MIN_USES, MAX_USES + 1, (B,), device=dev)
            ki = torch.randint(0, len(kbt.Ks), (B,), device=dev)
            sel = sel_all[ki, data.last_flip.long(), idx]
            prior, m, _ = kbt.frame(Ks[ki], sel, snr, snr, budget)
            p_enc, p_dec = group_priors(prior, kbt.gmean, B)
            L = torch.stack([budget - m, budget - m, budget], 1)
            s3 = snr[:, None].expand(B, 3)
            out = akb_forward(net, x, p_enc, p_dec, s3, s3, L)
            per = (out - x[:, None]).pow(2).mean((0, 2, 3, 4))
            opt.zero_grad(set_to_none=True)
            per.sum().backward()
            opt.step()
            steps += 1
            run_steps += 1
            run = per.detach() if run is None else 0.98 * run + 0.02 * per.detach()
            if steps % 500 == 0:
                log("akb", f"step {steps} t={time.time() - t0:.0f}s train-psnr(mixed rates/SNRs) " +
                    " ".join(f"{v:.2f}" for v in (10 * torch.log10(1 / run)).tolist()))
            if time.time() - t_save > 90:
                seconds_done += time.time() - t_save
                t_save = time.time()
                save()
        seconds_done += time.time() - t_save
        epochs_done += run_steps * B / len(xtr)
        log("akb", f"trained to step {steps} ({run_steps * B / len(xtr):.1f} epochs this run, {epochs_done:.1f} in all)")
        round_fp16(net)  # the weights evaluated are exactly those saved (float16) and exported
        save()

    from models.eval.akb_eval import evaluate_all
    res = evaluate_all(net, kb, kbt, xtr, xte, dev, kodak=a.kodak, seconds=a.eval_seconds,
                       cifar=not a.skip_cifar, K_main=K_main)
    K_main = res["K_main"]
    if not a.no_train:
        save()
    res.update(steps=steps, train_seconds=seconds_done, epochs=epochs_done, kb_stats=kb["stats"], kb_train=kb["train"],
               device=torch.cuda.get_device_name() if dev.type == "cuda" else "cpu")
    from models.train.common import save_json
    save_json(res, os.path.join(a.out, "akb.results.json"))


if __name__ == "__main__":
    main()
