"""One GPU call for issue 15: train the fixed-rate AKB-JSCC family (and, if asked, the 10 dB Deep JSCC) until a
deadline, then evaluate on the same channel draws; checkpoints stay on the machine (--ckpt-dir, reused by the
next call while the machine is warm), and a resume bundle (weights, Adam state as bfloat16, the KB, the
choices: resume_akbx.NNN, 15 MiB each), the results and the logs go to --out.

  call 1: python3 -m models.train.run_fixed --out "$OUT" --phase 1 --total 560 --train-until 490 --later-seconds 460
  call 2: python3 -m models.train.run_fixed --out "$OUT" --phase 2 --total 560 --train-until 470 --kodak \
              [--resume-from <folder with call 1's resume_akbx.NNN>]
Phase 1 trains on the 48,000 training images outside the validation slice and plans the whole run (this call's
steps and the later calls' seconds), picks K on the slice, evaluates on CIFAR-10 test. Phase 2 resumes on all
50,000 images where the schedule stopped (no learning-rate rise), then evaluates everything (Kodak too).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, ROOT)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--ckpt-dir", default=os.path.join(ROOT, "models", ".data", "ckfx"))
    ap.add_argument("--phase", type=int, choices=[1, 2], required=True)
    ap.add_argument("--total", type=float, default=550)
    ap.add_argument("--train-until", type=float, default=400)
    ap.add_argument("--later-seconds", type=float, default=460, help="phase 1: training seconds planned for phase 2")
    ap.add_argument("--resume-from", default=None, help="phase 2: a folder with resume_akbx.NNN if the machine is new")
    ap.add_argument("--kodak", action="store_true")
    ap.add_argument("--parts", default="akbx")
    ap.add_argument("--train-limit", type=int, default=None)
    ap.add_argument("--test-limit", type=int, default=None)
    a = ap.parse_args()
    t0 = time.time()
    os.makedirs(a.out, exist_ok=True)
    os.makedirs(a.ckpt_dir, exist_ok=True)
    if a.phase == 2 and not os.path.exists(os.path.join(a.ckpt_dir, "akbx.pt")) and not a.resume_from:
        print(f"no checkpoint in {a.ckpt_dir}: the machine is not the one of phase 1", flush=True)
        sys.exit(3)
    import torch
    print("env", json.dumps(dict(torch=torch.__version__, cuda=torch.cuda.is_available(),
                                 gpu=torch.cuda.get_device_name() if torch.cuda.is_available() else None)), flush=True)
    from models.common.data import load_cifar
    load_cifar("train", limit=a.train_limit, workers=min(16, os.cpu_count() or 4))
    load_cifar("test", limit=a.test_limit, workers=min(16, os.cpu_count() or 4))
    print(f"[{time.time() - t0:.0f}s] data decoded", flush=True)
    deadline = t0 + a.train_until
    procs = {}
    for part in a.parts.split(","):
        cmd = [sys.executable, "-m", "models.train.fixed", "--part", part, "--ckpt-dir", a.ckpt_dir, "--out", a.out,
               "--deadline", str(deadline)]
        if a.phase == 2:
            cmd += ["--all-train"] + (["--resume-from", a.resume_from] if a.resume_from else [])
        else:
            cmd += ["--later-seconds", str(a.later_seconds)]
        if a.train_limit:
            cmd += ["--train-limit", str(a.train_limit)]
        f = open(os.path.join(a.out, f"log_{part}.txt"), "a")
        procs[part] = (subprocess.Popen(cmd, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT), f)
        print(f"[{time.time() - t0:.0f}s] started {' '.join(cmd)}", flush=True)
    hard = t0 + a.total - 60
    while any(p.poll() is None for p, _ in procs.values()) and time.time() < hard:
        time.sleep(2)
    for part, (p, f) in procs.items():
        if p.poll() is None:
            p.kill()
            print(f"{part}: killed at the hard deadline", flush=True)
        f.close()
        print(f"[{time.time() - t0:.0f}s] {part}: exit {p.poll()}", flush=True)
        with open(os.path.join(a.out, f"log_{part}.txt")) as g:
            print("".join(g.readlines()[-12:]), flush=True)
    cmd = [sys.executable, "-m", "models.eval.fixed_run", "--ckpt-dir", a.ckpt_dir, "--out", a.out,
           "--deadline", str(t0 + a.total - 12)]
    if a.kodak:
        cmd += ["--kodak"]
    if a.test_limit:
        cmd += ["--test-limit", str(a.test_limit)]
    with open(os.path.join(a.out, "log_eval.txt"), "a") as f:
        p = subprocess.Popen(cmd, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT)
        while p.poll() is None and time.time() < t0 + a.total - 5:
            time.sleep(1)
        if p.poll() is None:
            p.kill()
    with open(os.path.join(a.out, "log_eval.txt")) as g:
        print("".join(g.readlines()[-30:]), flush=True)
    print(f"[{time.time() - t0:.0f}s] done; files: {sorted(os.listdir(a.out))}", flush=True)


if __name__ == "__main__":
    main()
