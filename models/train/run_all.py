"""One GPU call: decode the data once, train the baseline families and AKB-JSCC in parallel processes
until fixed wall-clock deadlines, evaluate, and leave checkpoints and results in --out. Stops itself
before --total seconds. Resumable: --resume-dir holds base12.pt, base6.pt, kb.pt, akb.pt from an earlier call.

  python3 -m models.train.run_all --out "$OUT" --total 540 [--resume-dir models/.data/ckpt] [--kodak]
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, ROOT)


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=30).stdout.strip()
    except Exception as e:  # noqa: BLE001
        return f"({e})"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--total", type=float, default=540)
    ap.add_argument("--train-until", type=float, default=410, help="baselines stop training at this second")
    ap.add_argument("--akb-train-until", type=float, default=390)
    ap.add_argument("--kb-seconds", type=float, default=70)
    ap.add_argument("--resume-dir", default=None)
    ap.add_argument("--parts", default="base12,base6,akb")
    ap.add_argument("--kodak", action="store_true")
    ap.add_argument("--no-train", action="store_true")
    ap.add_argument("--repair", action="store_true", help="baselines: restart copies left behind from the best copy")
    ap.add_argument("--skip-cifar", action="store_true", help="evaluate on Kodak only")
    ap.add_argument("--train-limit", type=int, default=None)
    ap.add_argument("--test-limit", type=int, default=None)
    a = ap.parse_args()
    t0 = time.time()
    os.makedirs(a.out, exist_ok=True)
    env_info = dict(nvidia_smi=sh("nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader"),
                    python=sys.version.split()[0])
    import numpy as np
    import PIL
    import torch
    from PIL import features
    env_info.update(torch=torch.__version__, numpy=np.__version__, pillow=PIL.__version__,
                    webp=features.check("webp"), cuda=torch.cuda.is_available())
    try:
        import onnx
        import onnxruntime
        env_info.update(onnx=onnx.__version__, onnxruntime=onnxruntime.__version__)
    except ImportError:
        pass
    print("env", json.dumps(env_info), flush=True)

    from models.common.data import load_cifar
    splits = [] if a.no_train and a.skip_cifar else [("train", a.train_limit), ("test", a.test_limit)]
    for split, lim in splits:
        x, _ = load_cifar(split, limit=lim, workers=min(16, os.cpu_count() or 4))
        print(f"[{time.time() - t0:.0f}s] decoded {split}: {x.shape}", flush=True)

    common = []
    if a.train_limit:
        common += ["--train-limit", str(a.train_limit)]
    if a.test_limit:
        common += ["--test-limit", str(a.test_limit)]
    if a.kodak:
        common += ["--kodak"]
    if a.no_train:
        common += ["--no-train"]
    if a.skip_cifar:
        common += ["--skip-cifar"]
    el = time.time() - t0
    procs = {}
    rd = a.resume_dir
    for part in a.parts.split(","):
        if part in ("base12", "base6"):
            cmd = [sys.executable, "-m", "models.train.baseline", "--ratio", part[4:], "--out", a.out,
                   "--seconds", str(a.train_until - el), "--eval-seconds", str(a.total - a.train_until - 40)]
            if rd and os.path.exists(os.path.join(rd, f"{part}.pt")):
                cmd += ["--resume", os.path.join(rd, f"{part}.pt")]
            if a.repair:
                cmd += ["--repair"]
        elif part == "akb":
            cmd = [sys.executable, "-m", "models.train.akb", "--out", a.out, "--seconds", str(a.akb_train_until - el),
                   "--kb-seconds", str(a.kb_seconds), "--eval-seconds", str(a.total - a.akb_train_until - 35)]
            if rd and os.path.exists(os.path.join(rd, "kb.pt")):
                cmd += ["--kb", os.path.join(rd, "kb.pt")]
            if rd and os.path.exists(os.path.join(rd, "akb.pt")):
                cmd += ["--resume", os.path.join(rd, "akb.pt")]
        else:
            raise SystemExit(f"unknown part {part}")
        f = open(f"/tmp/akb_log_{part}.txt", "w")
        procs[part] = (subprocess.Popen(cmd + common, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT,
                                        start_new_session=True), f)
        print(f"[{time.time() - t0:.0f}s] started {part}: {' '.join(cmd + common)}", flush=True)

    deadline = t0 + a.total - 8
    while time.time() < deadline and any(p.poll() is None for p, _ in procs.values()):
        time.sleep(2)
    for part, (p, f) in procs.items():
        if p.poll() is None:
            print(f"[{time.time() - t0:.0f}s] {part} still running at the deadline: stopping it", flush=True)
            os.killpg(p.pid, signal.SIGTERM)
    time.sleep(2)
    for part, (p, f) in procs.items():
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
        f.close()
        print(f"{part}: exit {p.poll()}", flush=True)

    merged = dict(env=env_info, wall_seconds=round(time.time() - t0, 1), parts={})
    for path in sorted(glob.glob(os.path.join(a.out, "*.results.json"))):
        with open(path) as f:
            merged["parts"][os.path.basename(path).split(".")[0]] = json.load(f)
        os.remove(path)
    for path in glob.glob(os.path.join(a.out, "*.tmp")):
        os.remove(path)
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump(merged, f)
    with open(os.path.join(a.out, "log.txt"), "w") as out:
        for part in procs:
            out.write(f"===== {part}\n")
            with open(f"/tmp/akb_log_{part}.txt") as f:
                out.write(f.read())
    for part in procs:
        with open(f"/tmp/akb_log_{part}.txt") as f:
            lines = f.read().splitlines()
        print(f"===== {part} (last lines)\n" + "\n".join(lines[-25:]), flush=True)
    print(f"done in {time.time() - t0:.0f}s; files: {sorted(os.listdir(a.out))}", flush=True)


if __name__ == "__main__":
    main()
