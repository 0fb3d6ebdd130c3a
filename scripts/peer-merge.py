#!/usr/bin/env python3
"""A mergekit-style torch CPU merge, for timing Potluck's `potluck merge`
side by side with what labs run today (issue #17's end-to-end figures).

    peer-merge.py METHOD BASE_DIR OUT_DIR DELTA_DIR...

It merges delta directories (task vectors, as `potluck node publish --out`
writes them) over a base the way mergekit's generalized task arithmetic
does, tensor by tensor in torch on the CPU (as many threads as
$PEER_THREADS, default 2): task_arithmetic (weight 1/n each), ties and
dare_ties (density 0.5, sign election by the weighted sum, disjoint mean),
with mergekit's sparsify kernels (magnitude: topk of |delta|; bernoulli:
torch.bernoulli with rescale 1/density). It writes bf16 safetensors shards
like the base's. Nothing in Potluck's tests runs it: it needs torch
(Debian: apt-get install python3-torch) and is a yardstick, not a
reference (the bit-exact references are merge's own tests).
"""
import json
import os
import struct
import sys

import torch

DTYPES = {"BF16": torch.bfloat16, "F16": torch.float16, "F32": torch.float32}
NAMES = {v: k for k, v in DTYPES.items()}


def read_header(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(n)), 8 + n


def shards(d):
    idx = os.path.join(d, "model.safetensors.index.json")
    if os.path.exists(idx):
        with open(idx) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    return [os.path.join(d, f) for f in files]


def tensors(d):
    """name -> (path, dtype, shape, start, end) over every shard of d."""
    out = {}
    for p in shards(d):
        h, off = read_header(p)
        for name, t in h.items():
            if name == "__metadata__":
                continue
            s, e = t["data_offsets"]
            out[name] = (p, t["dtype"], t["shape"], off + s, off + e)
    return out


def load(entry):
    """One tensor, read from its file (as safetensors' lazy loader does)."""
    p, dt, shape, s, e = entry
    raw = bytearray(e - s)
    with open(p, "rb") as f:
        f.seek(s)
        f.readinto(raw)
    if dt not in DTYPES:
        return (dt, shape, bytes(raw))  # integer tensors are copied as they are
    return torch.frombuffer(raw, dtype=DTYPES[dt]).reshape(shape)


def magnitude(t, density):
    k = int(density * t.numel())
    if k <= 0:
        return torch.zeros_like(t)
    w = t.abs().view(-1)
    topk = torch.argsort(w, descending=True)[:k]
    mask = torch.zeros_like(w)
    mask[topk] = 1
    return t * mask.view_as(t)


def bernoulli(t, density):
    mask = torch.bernoulli(torch.full_like(t, density))
    return t * mask / density


def merge_tensor(method, base, deltas):
    n = len(deltas)
    w = torch.full((n,), 1.0 / n)
    ds = torch.stack([d.float() for d in deltas])
    if method == "task_arithmetic":
        mixed = (ds * w.view(-1, *[1] * (ds.dim() - 1))).sum(0)
        return (base.float() + mixed).to(base.dtype)
    if method == "ties":
        ds = torch.stack([magnitude(d, 0.5) for d in ds])
    elif method == "dare_ties":
        ds = torch.stack([bernoulli(d, 0.5) for d in ds])
    else:
        raise SystemExit(f"unknown method {method}")
    wd = ds * w.view(-1, *[1] * (ds.dim() - 1))
    sign = torch.sign(wd.sum(0))
    agree = torch.sign(ds) == sign
    mixed = (wd * agree).sum(0) / torch.clamp((w.view(-1, *[1] * (ds.dim() - 1)) * agree).sum(0), min=1e-8)
    return (base.float() + mixed).to(base.dtype)


def save(path, items):
    header, blobs, off = {}, [], 0
    for name, t in items:
        if isinstance(t, tuple):
            dt, shape, b = t
            header[name] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + len(b)]}
            blobs.append(b)
            off += len(b)
            continue
        b = t.contiguous().view(torch.uint8).numpy().tobytes() if t.dtype == torch.bfloat16 else t.contiguous().numpy().tobytes()
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
        f.flush()
        os.fsync(f.fileno())


def main():
    method, base_dir, out_dir, *delta_dirs = sys.argv[1:]
    torch.set_num_threads(int(os.environ.get("PEER_THREADS", "2")))
    torch.manual_seed(3)
    os.makedirs(out_dir)
    base = tensors(base_dir)
    deltas = [tensors(d) for d in delta_dirs]
    by_shard = {}
    for name, entry in base.items():
        by_shard.setdefault(os.path.basename(entry[0]), []).append(name)
    for shard, names in sorted(by_shard.items()):
        items = []
        for name in sorted(names):
            b = load(base[name])
            ds = [load(d[name]) for d in deltas if name in d]
            if isinstance(b, tuple) or not ds:
                items.append((name, b))
                continue
            items.append((name, merge_tensor(method, b, ds)))
        save(os.path.join(out_dir, shard), items)


if __name__ == "__main__":
    main()
