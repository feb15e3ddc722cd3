"""Train the Deep JSCC baseline family for one bandwidth ratio: one copy per training SNR (as in the paper)
plus one SNR-adaptive copy, side by side as one grouped network, until a wall-clock deadline; then
evaluate every copy on the test grid and save a checkpoint.

  python3 -m models.train.baseline --ratio 12 --seconds 380 --out OUT [--resume OUT/base12.pt]
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from models.common.data import kodak_tiles, kodak_files, load_cifar
from models.common.nets import Decoder, Encoder, count_params
from models.eval.grid import eval_family
from models.train.common import (load_ckpt, Batches, Clock, device, jscc_forward, log, lr_at, round_fp16, save_atomic,
                                 save_json, set_lr, state_cpu16)

TRAIN_SNRS = [1, 4, 7, 13, 19]
ADAPTIVE_RANGE = (-2.0, 20.0)


def names_for(ratio, snrs):
    return [f"deepjscc-r{ratio}-snr{s}" for s in snrs] + [f"deepjscc-r{ratio}-adaptive"]


@torch.no_grad()
def repair(enc, dec, G, c, snrs, names, xte, dev, margin=0.3):
    """Copies that training left behind (another copy does better at their SNR by more than `margin` dB)
    restart from the best copy. FiLM's first layer is shifted so the copy behaves exactly as the donor did:
    a fixed-SNR copy sees a constant SNR, so its bias absorbs the difference; an SNR-adaptive recipient of a
    fixed donor starts SNR-blind (weight 0) and learns the dependence."""
    train_snrs = snrs + [None]
    recs = eval_family(enc, dec, G, c, names, train_snrs, xte[::5], "repair-check", dev, snrs=snrs, channels=["awgn"])
    P = np.array([[next(r["psnr"] for r in recs if r["model"] == n and r["test_snr"] == s) for s in snrs] for n in names])
    films = list(enc.films) + list(dec.films)
    moves = []

    def copy(src, dst):
        for m in (enc, dec):
            for p in m.parameters():
                v = p.data.view(G, -1)
                v[dst] = v[src]
        for f in films:
            w, b = f.l1.weight.data.view(G, -1), f.l1.bias.data.view(G, -1)
            s_src, s_dst = train_snrs[src], train_snrs[dst]
            if s_src is not None and s_dst is not None:
                b[dst] = b[src] + w[src] * (s_src - s_dst) / 20.0
            elif s_src is not None and s_dst is None:
                b[dst] = b[src] + w[src] * s_src / 20.0
                w[dst] = 0
        moves.append(f"{names[src]} -> {names[dst]}")
    for g, s in enumerate(snrs):
        h = int(P[:, g].argmax())
        if h != g and P[h, g] > P[g, g] + margin:
            copy(h, g)
    a = G - 1
    means = P[:-1].mean(1)
    h = int(means.argmax())
    if means[h] > P[a].mean() + margin:
        copy(h, a)
    return moves, P.round(2).tolist()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ratio", type=int, choices=[12, 6], required=True, help="k/n = 1/ratio")
    ap.add_argument("--seconds", type=float, default=300, help="training wall-clock budget")
    ap.add_argument("--eval-seconds", type=float, default=60, help="stop evaluating after this long")
    ap.add_argument("--out", required=True)
    ap.add_argument("--resume", default=None)
    ap.add_argument("--F", type=int, default=64)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--train-limit", type=int, default=None, help="use a subset (CPU smoke tests)")
    ap.add_argument("--test-limit", type=int, default=None)
    ap.add_argument("--kodak", action="store_true")
    ap.add_argument("--no-train", action="store_true")
    ap.add_argument("--skip-cifar", action="store_true", help="evaluate on Kodak only")
    ap.add_argument("--repair", action="store_true", help="restart copies left behind from the best copy")
    a = ap.parse_args()

    t_proc = time.time()
    tag = f"base{a.ratio}"
    os.makedirs(a.out, exist_ok=True)
    dev = device()
    torch.manual_seed(a.seed)
    torch.backends.cudnn.benchmark = True
    c = 3072 // a.ratio // 32          # latent channels of 8x8: k = c*32 complex symbols
    snrs = TRAIN_SNRS
    G = len(snrs) + 1
    enc = Encoder(G, 3, c, a.F, film=True).to(dev)
    dec = Decoder(G, c, a.F, film=True).to(dev)
    steps, seconds_done, epochs_done, moves = 0, 0.0, 0.0, []
    if a.resume and os.path.exists(a.resume):
        ck = load_ckpt(a.resume)
        enc.load_state_dict(ck["enc"])
        dec.load_state_dict(ck["dec"])
        steps, seconds_done = ck.get("steps", 0), ck.get("train_seconds", 0.0)
        epochs_done = ck.get("epochs", steps * ck.get("batch", a.batch) / 50000)
        log(tag, f"resumed {a.resume} at step {steps}")
    log(tag, f"G={G} c={c} params/copy={(count_params(enc) + count_params(dec)) // G}")
    ckpt_path = os.path.join(a.out, f"{tag}.pt")

    def save(extra=None):
        save_atomic(dict(enc=state_cpu16(enc), dec=state_cpu16(dec), steps=steps, train_seconds=seconds_done,
                         epochs=epochs_done, repairs=moves,
                         G=G, c=c, F=a.F, ratio=a.ratio, train_snrs=snrs + [None], names=names_for(a.ratio, snrs),
                         seed=a.seed, batch=a.batch, lr=a.lr, **(extra or {})), ckpt_path)

    xtr = None if a.no_train else load_cifar("train", limit=a.train_limit)[0]
    xte = None if a.skip_cifar and not a.repair else load_cifar("test", limit=a.test_limit)[0]
    names = names_for(a.ratio, snrs)
    if a.repair and not a.no_train:
        moves, P = repair(enc, dec, G, c, snrs, names, xte, dev)
        log(tag, f"repair check (PSNR of each copy at each training SNR): {P}; moves: {moves}")
    if not a.no_train:
        data = Batches(xtr, dev, a.seed + steps)
        opt = torch.optim.Adam(list(enc.parameters()) + list(dec.parameters()), lr=a.lr)
        base_lr = a.lr if steps == 0 else a.lr * 0.3
        clock = Clock(a.seconds - (time.time() - t_proc))
        fixed = torch.tensor(snrs, dtype=torch.float32, device=dev)
        t_last_save, run_loss, t0, run_steps = time.time(), None, time.time(), 0
        while not clock.done():
            set_lr(opt, lr_at(clock.frac(), base_lr))
            x, _ = data.sample(a.batch)
            B = x.shape[0]
            ad = torch.empty(B, 1, device=dev).uniform_(*ADAPTIVE_RANGE)
            snr = torch.cat([fixed[None].expand(B, -1), ad], 1)
            out = jscc_forward(enc, dec, x, G, c, snr, snr)
            per_copy = (out - x[:, None]).pow(2).mean((0, 2, 3, 4))
            loss = per_copy.sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            steps += 1
            run_steps += 1
            pc = per_copy.detach()
            run_loss = pc if run_loss is None else 0.98 * run_loss + 0.02 * pc
            if steps % 500 == 0:
                ps = (10 * torch.log10(1 / run_loss)).tolist()
                log(tag, f"step {steps} t={time.time() - t0:.0f}s lr={opt.param_groups[0]['lr']:.2e} "
                         f"train-psnr " + " ".join(f"{p:.2f}" for p in ps))
            if time.time() - t_last_save > 90:
                seconds_done += time.time() - t_last_save
                t_last_save = time.time()
                save()
        seconds_done += time.time() - t_last_save
        epochs_done += run_steps * a.batch / len(data)
        log(tag, f"trained to step {steps} ({run_steps * a.batch / len(data):.1f} epochs this run, {epochs_done:.1f} in all)")
    if not a.no_train:
        round_fp16(enc, dec)  # the weights evaluated are exactly those saved (float16) and exported
    t_eval = time.time()
    recs = [] if a.skip_cifar else eval_family(enc, dec, G, c, names, snrs + [None], xte, "cifar10-test", dev)
    log(tag, f"eval cifar {time.time() - t_eval:.0f}s")
    for r in recs:
        if r["channel"] == "awgn" and (r["train_snr"] == r["test_snr"] or r["train_snr"] is None and r["test_snr"] in snrs):
            log(tag, f"{r['model']} @ {r['test_snr']} dB: {r['psnr']:.2f} dB, ssim {r['ssim']:.3f}")
    if a.kodak and kodak_files() and time.time() - t_eval < a.eval_seconds:
        kt, _ = kodak_tiles()
        recs += eval_family(enc, dec, G, c, names, snrs + [None], kt, "kodak-32", dev)
        log(tag, f"eval kodak done {time.time() - t_eval:.0f}s")
    save_json(dict(records=recs, steps=steps, train_seconds=seconds_done, epochs=epochs_done, repairs=moves,
                   device=torch.cuda.get_device_name() if dev.type == "cuda" else "cpu"),
              os.path.join(a.out, f"{tag}.results.json"))
    if not a.no_train:
        save()


if __name__ == "__main__":
    main()
