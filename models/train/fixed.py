"""Train the k/n = 1/12 models of issue 15, resumable across GPU calls:

  --part deep10  Deep JSCC trained at 10 dB (the paper's training point): the baselines' networks and recipe
                 (width 64, FiLM on a constant SNR, Adam, batch 128, lr 1e-3, MSE, flips).
  --part akbx    the fixed-rate AKB-JSCC family, four grouped copies of one network (models/common/fused.py)
                 trained identically, side by side, on the same batches:
                   0 akb-fixed       k-means KB (K drawn per sample from 16..1024), index in the frame
                   1 akb-fixed-nokb  its twin without a source KB: the prior is always the global mean, no index
                   2 akb-nn          nearest-training-image KB (96,000 entries, 17-bit index in the frame)
                   3 akb-hist        device-history KB: the camera's earlier frame, known at both ends
                 Every frame is 256 complex channel uses: m index symbols (the committed table at the
                 transmitter's SNR; none below its range or when m > 128) then 256 - m latent symbols.

Schedule: warm-up then cosine over one planned run of steps, by step, not by wall clock. Call 1 plans the whole
run from the step rate it measures and the training seconds the later calls will have (--later-seconds); a later
call resumes weights, Adam state and the point reached in the schedule, and refits only the remaining part of
the cosine to its own time: the learning rate never rises on resume. akbx: peak lr 5e-4 and per-copy gradient
clipping (each copy's gradient norm is clipped to --clip times its own running mean), so the copies stay
independent and the twin sees exactly what akb-fixed sees.
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch

from models.common.channel import awgn
from models.common.data import load_cifar
from models.common.fused import C_LAT, USES, FusedDecoder, FusedEncoder
from models.common.nets import Decoder, Encoder, count_params
from models.train.common import Batches, autocast, device, jscc_forward, load_ckpt, log, round_fp16, save_atomic, set_lr
from models.train import fixed_kb as fk
from models.train.fixed_steps import CopyClip, lr_sched, moments16, moments32, progress, read_bundle, refit, write_bundle

NAMES = ["akb-fixed", "akb-fixed-nokb", "akb-nn", "akb-hist"]
SNR_LO, SNR_HI = -2.0, 20.0


def sample_snr(B, dev):
    """Half uniform in [-2, 20] dB, half uniform in [-2, 6] dB (the low-SNR targets)."""
    hi = torch.where(torch.rand(B, device=dev) < 0.5, torch.full((B,), 6.0, device=dev), torch.full((B,), SNR_HI, device=dev))
    return SNR_LO + torch.rand(B, device=dev) * (hi - SNR_LO)


class KBDev:
    """The KB on the device: priors, selections, index-length tables."""

    def __init__(self, kb, xtr_u8, big_table, dev):
        self.dev = dev
        self.gmean = kb["gmean"].to(dev).float() / 255                                   # [3, 32, 32]
        self.Ks = list(kb["Ks"])
        self.priors = {K: kb["priors"][K].to(dev).float() / 255 for K in self.Ks}        # [K, 3, 32, 32]
        self.sel = torch.stack([kb["sel"][K].long() for K in self.Ks]).to(dev)            # [nK, 50000, 2]
        self.nn = kb["nn"].long().to(dev)                                                 # [50000, 2]
        self.kb_ids = torch.from_numpy(kb["kb_ids"]).to(dev)
        self.kb_img = torch.from_numpy(np.ascontiguousarray(xtr_u8[kb["kb_ids"]])).to(dev).permute(0, 3, 1, 2).contiguous()
        tab = fk.uses_table(big_table)
        self.uses = {K: torch.tensor(v, device=dev) for K, v in tab.items()}

    def index_uses(self, K, snr_tx):
        """[B] symbols for the index of a K-entry KB at the transmitter's SNR; -1: send none."""
        t = self.uses[fk.code_K(K)]
        k = torch.floor(snr_tx + 1e-9).long() + 6
        m = t[k.clamp(0, len(t) - 1)]
        return torch.where((k < 0) | (m < 0) | (m > USES // 2), torch.full_like(m, -1), m)

    def entry_image(self, e):
        """NN KB entries -> images [B, 3, 32, 32] (entry 2j: KB image j, 2j+1: its mirror)."""
        img = self.kb_img[e // 2].float() / 255
        return torch.where((e % 2 == 1)[:, None, None, None], img.flip(3), img)


def fused_forward(enc, dec, x, p_enc, p_dec, snr_tx, snr_rx, snr_chan, L, gen=None, amp=True, noise=None):
    """x [B,3,32,32]; p_enc, p_dec [B,G,3,32,32]; snr_tx (encoder's SNR), snr_rx (decoder's), snr_chan (the
    channel's effective SNR), L (latent symbols) all [B, G]. noise: optional [B*G, 512] unit normal draws."""
    G, B, dev = enc.G, x.shape[0], x.device
    Lf = L.float()
    ce = torch.stack([snr_tx / 20.0, Lf / USES], -1)
    cd = torch.stack([snr_rx / 20.0, Lf / USES], -1)
    with autocast(dev, amp):
        z = enc(x.repeat(1, G, 1, 1), p_enc.reshape(B, G * 3, 32, 32), ce)
    mask = (torch.arange(2 * USES, device=dev)[None] < 2 * L.reshape(B * G, 1)).float()
    z = z.float().reshape(B * G, 2 * USES) * mask
    z = z * torch.sqrt(Lf.reshape(B * G, 1) / z.pow(2).sum(1, keepdim=True).clamp_min(1e-12))
    if noise is None:
        y = awgn(z, snr_chan.reshape(B * G, 1), gen)
    else:
        y = z + torch.sqrt(10 ** (-snr_chan.reshape(B * G, 1) / 10) / 2) * noise
    y = y * mask
    with autocast(dev, amp):
        out = dec(y.reshape(B, G * C_LAT, 8, 8), mask.reshape(B, G * C_LAT, 8, 8), p_dec.reshape(B, G * 3, 32, 32), cd)
    return out.float().reshape(B, G, 3, 32, 32)


def akbx_batch(kbd, x, orig, flip, snr, gen=None):
    """Priors and latent lengths of the four copies for a training batch (indices taken as received)."""
    B, dev = x.shape[0], x.device
    g = kbd.gmean[None].expand(B, 3, 32, 32)
    ki = torch.randint(0, len(kbd.Ks), (B,), device=dev)
    p_km, m_km = g.clone(), torch.zeros(B, dtype=torch.long, device=dev)
    for j, K in enumerate(kbd.Ks):
        w = (ki == j).nonzero().flatten()
        if len(w) == 0:
            continue
        m = kbd.index_uses(K, snr[w])
        s = kbd.sel[j, orig[w], flip[w]]
        ok = m >= 0
        p_km[w[ok]] = kbd.priors[K][s[ok]]
        m_km[w[ok]] = m[ok]
    m_nn = kbd.index_uses(96000, snr)
    p_nn = torch.where((m_nn >= 0)[:, None, None, None], kbd.entry_image(kbd.nn[orig, flip]), g)
    m_nn = m_nn.clamp_min(0)
    p_h = fk.synth_prev(x, gen)
    P = torch.stack([p_km, g, p_nn, p_h], 1)
    L = torch.stack([USES - m_km, torch.full_like(m_km, USES), USES - m_nn, torch.full_like(m_km, USES)], 1)
    return P, L


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--part", choices=["deep10", "akbx"], required=True)
    ap.add_argument("--ckpt-dir", required=True, help="device-local: full checkpoints (weights + Adam)")
    ap.add_argument("--out", required=True, help="$OUT: float16 weights, the resume bundle, logs")
    ap.add_argument("--deadline", type=float, required=True, help="unix time to stop training")
    ap.add_argument("--later-seconds", type=float, default=0, help="training seconds the later calls will have")
    ap.add_argument("--resume-from", default=None, help="a folder with resume.NNN (when --ckpt-dir has no checkpoint)")
    ap.add_argument("--epochs", type=float, default=400, help="cap on the planned run (epochs of 50,000 images)")
    ap.add_argument("--batch", type=int, default=None)
    ap.add_argument("--lr", type=float, default=None, help="peak; deep10 1e-3, akbx 5e-4")
    ap.add_argument("--clip", type=float, default=None, help="per-copy clip at this x the running mean norm (0: off); akbx 3")
    ap.add_argument("--all-train", action="store_true", help="train on all 50,000 (else the 48,000 outside the validation slice)")
    ap.add_argument("--train-limit", type=int, default=None)
    ap.add_argument("--F", type=int, default=64)
    ap.add_argument("--fit-at", type=int, default=400, help="steps into the call at which the rest of the run is fitted")
    a = ap.parse_args()
    dev = device()
    torch.backends.cudnn.benchmark = True
    os.makedirs(a.ckpt_dir, exist_ok=True)
    os.makedirs(a.out, exist_ok=True)
    tag = a.part
    B = a.batch or (128 if a.part == "deep10" else 256)
    lr = a.lr or (1e-3 if a.part == "deep10" else 5e-4)
    clip = a.clip if a.clip is not None else (0.0 if a.part == "deep10" else 3.0)
    xtr, _ = load_cifar("train", limit=a.train_limit)
    N = len(xtr)
    kb_ids, val_ids = fk.split_ids(N)
    train_ids = np.arange(N) if a.all_train else kb_ids
    seed = 10 if a.part == "deep10" else 15
    torch.manual_seed(seed)
    ck_path = os.path.join(a.ckpt_dir, f"{tag}.pt")
    kb_path, tab_path = os.path.join(a.ckpt_dir, "kb_fixed.pt"), os.path.join(a.ckpt_dir, "index_uses_big.json")
    if not os.path.exists(ck_path) and a.resume_from:
        bd = read_bundle(a.resume_from, f"resume_{tag}")
        save_atomic(dict(bd["ck"], opt=moments32(bd["ck"]["opt"])), ck_path)
        if "kb" in bd:
            save_atomic(bd["kb"], kb_path)
            json.dump(bd["big"], open(tab_path, "w"))
        if bd.get("choices"):
            json.dump(bd["choices"], open(os.path.join(a.ckpt_dir, "choices.json"), "w"))
        log(tag, f"checkpoint restored from the bundle in {a.resume_from}")

    if a.part == "deep10":
        G = 1
        enc, dec = Encoder(1, 3, C_LAT, a.F, film=True).to(dev), Decoder(1, C_LAT, a.F, film=True).to(dev)
    else:
        G = 4
        enc, dec = FusedEncoder(G, a.F).to(dev), FusedDecoder(G, a.F).to(dev)
        if os.path.exists(tab_path):
            big = json.load(open(tab_path))
        else:
            t0 = time.time()
            big = fk.index_uses_big(dev)
            json.dump(big, open(tab_path, "w"))
            log(tag, f"index tables for K = 16384, 131072 in {time.time() - t0:.0f}s: {big['uses']}")
        if os.path.exists(kb_path):
            kb = load_ckpt(kb_path)
        else:
            t0 = time.time()
            kb = fk.build(xtr, dev, log=lambda m: log(tag, m))
            save_atomic(kb, kb_path)
            log(tag, f"KB built in {time.time() - t0:.0f}s")
        kbd = KBDev(kb, xtr, big, dev)
    params = list(enc.parameters()) + list(dec.parameters())
    log(tag, f"G={G} params/copy={count_params(enc) // G + count_params(dec) // G} batch={B} peak lr={lr} clip={clip} "
             f"train images={len(train_ids)}")

    opt = torch.optim.Adam(params, lr=lr)
    cap = int(round(a.epochs * 50000 / B))
    st = dict(step=0, total=cap, cap=cap, p0=0.0, s0=0, epochs=0.0, seconds=0.0, calls=[], curve=[], clip_log=[])
    if os.path.exists(ck_path):
        ck = load_ckpt(ck_path)
        enc.load_state_dict(ck["enc"])
        dec.load_state_dict(ck["dec"])
        if "opt" in ck:
            opt.load_state_dict(ck["opt"])
        st = ck["state"]
        lr, B = ck["lr"], ck["batch"]
        log(tag, f"resumed at step {st['step']} of {st['total']}: progress {progress(st):.4f}, "
                 f"lr {lr_sched(progress(st), lr):.2e}")
    clipper = CopyClip(G, clip, state=st.get("clip"))

    def save(final=False):
        if final:
            round_fp16(enc, dec)
        st["clip"] = clipper.state()
        full = dict(enc={k: v.detach().cpu() for k, v in enc.state_dict().items()},
                    dec={k: v.detach().cpu() for k, v in dec.state_dict().items()}, opt=opt.state_dict(), state=st,
                    G=G, F=a.F, names=NAMES if G == 4 else ["deepjscc-r12-snr10"], batch=B, lr=lr, clip=clip, seed=seed)
        save_atomic(full, ck_path)
        return full

    data = Batches(xtr[train_ids], dev, seed + st["step"])
    ids_t = torch.from_numpy(train_ids).to(dev)
    run, t0, t_save, n0 = None, time.time(), time.time(), st["step"]
    call = dict(start_step=st["step"], start_progress=round(progress(st), 4), train_images=len(train_ids))
    while st["step"] < st["total"] and time.time() < a.deadline:
        set_lr(opt, lr_sched(progress(st), lr))
        x, bi = data.sample(B)
        if a.part == "deep10":
            s = torch.full((B, 1), 10.0, device=dev)
            out = jscc_forward(enc, dec, x, 1, C_LAT, s, s)
        else:
            snr = sample_snr(B, dev)
            P, L = akbx_batch(kbd, x, ids_t[bi], data.last_flip.long(), snr)
            s4 = snr[:, None].expand(B, G)
            out = fused_forward(enc, dec, x, P, P, s4, s4, s4, L)
        per = (out - x[:, None]).pow(2).mean((0, 2, 3, 4))
        opt.zero_grad(set_to_none=True)
        per.sum().backward()
        clipper(params)
        opt.step()
        st["step"] += 1
        if st["step"] - n0 == a.fit_at // 4:
            t100 = time.time()
        if st["step"] - n0 == a.fit_at:  # fit the rest of the run to the time left in this call and the later ones
            rate = (a.fit_at - a.fit_at // 4) / (time.time() - t100)
            want = st["step"] + rate * (a.deadline - time.time() - 3 + a.later_seconds)
            refit(st, min(st["cap"], want))
            call["planned_total"] = st["total"]
            log(tag, f"{rate:.1f} steps/s: the run ends at step {st['total']} (cap {st['cap']}; "
                     f"{a.later_seconds:.0f}s planned in later calls), progress now {progress(st):.4f}")
        run = per.detach() if run is None else 0.98 * run + 0.02 * per.detach()
        if st["step"] % (500 if a.fit_at >= 400 else 5) == 0:
            el = time.time() - t0
            ps = [round(v, 3) for v in (10 * torch.log10(1 / run)).tolist()]
            cl = clipper.report()
            st["curve"].append([st["step"], round(opt.param_groups[0]["lr"], 7)] + ps)
            st["clip_log"].append([st["step"]] + cl["clipped_steps"] + cl["max_norm_over_mean"])
            log(tag, f"step {st['step']}/{st['total']} {(st['step'] - n0) / el:.1f} steps/s lr={opt.param_groups[0]['lr']:.2e} "
                     "train-psnr " + " ".join(f"{v:.2f}" for v in ps) + f" clipped {cl['clipped_steps']} "
                     f"max/mean {cl['max_norm_over_mean']} mean-norm {cl['mean_norm']}")
        if time.time() - t_save > 120:
            st["seconds"] += time.time() - t_save
            t_save = time.time()
            save()
    st["seconds"] += time.time() - t_save
    done = st["step"] - n0
    st["epochs"] += done * B / 50000
    call.update(end_step=st["step"], end_progress=round(progress(st), 4), steps=done, seconds=round(time.time() - t0, 1),
                epochs_of_50000=round(done * B / 50000, 2))
    st["calls"].append(call)
    finished = st["step"] >= st["total"]
    log(tag, f"stopped at step {st['step']} of {st['total']} ({done} steps, {done / max(1e-9, time.time() - t0):.1f}/s, "
             f"{st['epochs']:.1f} epochs in all){' - schedule finished' if finished else ''}")
    full = save(final=finished)
    choices = None
    if a.part == "akbx" and not a.all_train:
        choices = choose(enc, dec, kbd, xtr, val_ids, dev, a.out, a.ckpt_dir)
    elif os.path.exists(os.path.join(a.ckpt_dir, "choices.json")):
        choices = json.load(open(os.path.join(a.ckpt_dir, "choices.json")))
    bundle = dict(ck=dict(full, opt=moments16(full["opt"])), choices=choices)
    if a.part == "akbx":
        bundle.update(kb=load_ckpt(kb_path), big=big)
    n = write_bundle(bundle, a.out, f"resume_{tag}")
    log(tag, f"resume bundle: {n / 2**20:.1f} MiB in $OUT")


@torch.no_grad()
def choose(enc, dec, kbd, xtr, val_ids, dev, out_dir, ckpt_dir):
    """K (k-means KB) and the NN KB's size, picked on the validation slice (never on test): mean PSNR over
    AWGN at -2, 0, 1, 2, 4, 5 dB, index counted and decoded by ML."""
    from models.eval.fixed_eval import Selector, akbx_point, psnr_of
    enc.eval()
    dec.eval()
    xv = xtr[val_ids]
    sel = Selector(kbd)
    res = {}
    for kind, sizes in (("km", kbd.Ks), ("nn", [1024, 16384, 96000])):
        for K in sizes:
            ps = []
            for s in (-2, 0, 1, 2, 4, 5):
                mse, _ = akbx_point(enc, dec, kbd, xv, None, s, "awgn", km_K=K if kind == "km" else 256,
                                    nn_n=K if kind == "nn" else 96000, tag="val", sel=sel)
                ps.append(psnr_of(mse[:, 0 if kind == "km" else 2]).mean().item())
            res[f"{kind}{K}"] = round(float(np.mean(ps)), 4)
    km = max(kbd.Ks, key=lambda K: res[f"km{K}"])
    nn = max([1024, 16384, 96000], key=lambda K: res[f"nn{K}"])
    ch = dict(K_main=km, nn_main=nn, val_mean_psnr_low_snr=res, slice="every 25th training image (2,000), not in the KB "
              "and not trained on before this choice")
    log("choose", ch)
    json.dump(ch, open(os.path.join(ckpt_dir, "choices.json"), "w"))
    enc.train()
    dec.train()
    return ch


if __name__ == "__main__":
    main()
