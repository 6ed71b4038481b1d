#!/usr/bin/python3
"""PyTorch eager CPU baseline for the seed attention experiment.

Run with Debian's interpreter, /usr/bin/python3: torch comes from apt
(python3-torch), and `python3` on PATH may be a pyenv 3.11 that lacks it.

Times the op sequences of bigcode-analysis multi_query_experiments/
attention_types_imp.py (projection, split/reshape, two batched matmuls; no
scaling, mask or softmax) so the ONNX Runtime version can be compared side by
side. JSON goes to stdout, progress to stderr.

  /usr/bin/python3 bench/torch_seed.py --variants multi-head,multi-query \
      --batch 8 --seq 512 --heads 16 --head-dim 64 --threads 2

float32 matmul goes through the system BLAS (Debian: OpenBLAS), so the BLAS
kernel OpenBLAS picks decides the numbers; the "blas" field reports it.
"""
import argparse
import json
import math
import os
import re
import statistics
import sys
import time

STAGES = ("qkv", "split", "weights", "output")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--variants", default="multi-head,multi-query,multi-query-1,grouped-query:4,multi-query-separate")
    p.add_argument("--batch", default="8")
    p.add_argument("--seq", default="512")
    p.add_argument("--heads", default="16")
    p.add_argument("--head-dim", default="64")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=None, help="fixed repeat count (default: seed rule, budget-capped)")
    p.add_argument("--budget-ms", type=float, default=3000, help="max time one configuration spends measuring")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--samples", action="store_true", help="include every run's total ms (for pooling across rounds)")
    return p.parse_args()


def ints(s):
    return [int(x) for x in s.split(",") if x]


def build(torch, variant, bs, sl, nh, hs):
    """Allocate data and return (kvHeads, data, four stage functions).

    Each stage takes the previous stage's result, so stage timings add up to
    the sequence. Reshapes that only create views cost ~0 in 'split'; eager
    PyTorch then pays for any needed copy inside the following matmul.
    """
    nm = nh * hs
    rn = torch.randn
    mm, bmm = torch.matmul, torch.bmm

    if variant == "multi-head":
        data = (rn(bs, sl, nm), rn(nm, 3 * nm))
        qkv = lambda d: mm(d[0].view(bs * sl, nm), d[1]).view(bs, sl, 3 * nm)

        def split(x):
            q, k, v = x.split(nm, dim=2)
            return (q.view(bs, sl, nh, hs).permute(0, 2, 1, 3),   # [bs,nh,sl,hs]
                    k.view(bs, sl, nh, hs).permute(0, 2, 3, 1),   # [bs,nh,hs,sl]
                    v.view(bs, sl, nh, hs).permute(0, 2, 1, 3))   # [bs,nh,sl,hs]
        return nh, data, qkv, split, lambda q, k: mm(q, k), lambda w, v: mm(w, v)

    if variant == "multi-query":
        # Megatron layout: sequence-major hidden, weight on the left, so the
        # projection result is [(nh+2)*hs, sl*bs] and every head split is a row block.
        data = (rn(sl, bs, nm), rn((nh + 2) * hs, nm))
        qkv = lambda d: mm(d[1], d[0].view(sl * bs, nm).t())

        def split(x):
            q, k, v = x.split((nm, hs, hs), dim=0)
            # merged axis is (nh, sl), as in the seed; reshape copies here
            q = q.view(hs, nh, sl, bs).permute(3, 1, 2, 0).reshape(bs, nh * sl, hs)
            return q, k.view(hs, sl, bs).permute(2, 0, 1), v.view(hs, sl, bs).permute(2, 1, 0)
        return 1, data, qkv, split, bmm, bmm

    if variant in ("multi-query-1", "multi-query-separate"):
        def split(x):
            q, k, v = x
            # all heads share one k/v, so folding heads into rows makes one bmm per batch
            return q.reshape(bs, sl * nh, hs), k.permute(0, 2, 1), v

        if variant == "multi-query-1":
            data = (rn(bs, sl, nm), rn(nm, (nh + 2) * hs))
            qkv = lambda d: mm(d[0].view(bs * sl, nm), d[1]).view(bs, sl, -1).split((nm, hs, hs), dim=2)
        else:
            # same layout, but three separate projections instead of one fused one
            data = (rn(bs, sl, nm), rn(nm, nm), rn(nm, hs), rn(nm, hs))
            qkv = lambda d: tuple(mm(d[0], w) for w in d[1:])
        return 1, data, qkv, split, bmm, bmm

    if variant.startswith("grouped-query:"):
        g = int(variant.split(":", 1)[1])
        if g <= 0 or nh % g:
            raise SystemExit(f"{variant}: groups must divide heads ({nh})")
        r = nh // g
        data = (rn(bs, sl, nm), rn(nm, (nh + 2 * g) * hs))
        qkv = lambda d: mm(d[0].view(bs * sl, nm), d[1]).view(bs, sl, -1)

        def split(x):
            q, k, v = x.split((nm, g * hs, g * hs), dim=2)
            # r query heads per group folded into rows: [bs, g, sl*r, hs]
            q = q.view(bs, sl, g, r * hs).permute(0, 2, 1, 3).reshape(bs, g, sl * r, hs)
            return (q, k.view(bs, sl, g, hs).permute(0, 2, 3, 1),   # [bs,g,hs,sl]
                    v.view(bs, sl, g, hs).permute(0, 2, 1, 3))      # [bs,g,sl,hs]
        return g, data, qkv, split, lambda q, k: mm(q, k), lambda w, v: mm(w, v)

    raise SystemExit(f"unknown variant {variant!r}")


def run_once(fns, data, clock=time.perf_counter_ns):
    qkv, split, weights, output = fns
    t0 = clock()
    x = qkv(data)
    t1 = clock()
    q, k, v = split(x)
    t2 = clock()
    w = weights(q, k)
    t3 = clock()
    out = output(w, v)
    t4 = clock()
    del out  # free before the next run allocates, like the seed's loop
    return {"qkv": t1 - t0, "split": t2 - t1, "weights": t3 - t2, "output": t4 - t3, "total": t4 - t0}


def summary(ns):
    ms = sorted(x / 1e6 for x in ns)
    p90 = ms[max(0, math.ceil(0.9 * len(ms)) - 1)]  # nearest-rank percentile
    sd = statistics.stdev(ms) if len(ms) > 1 else 0.0
    r = lambda x: round(x, 4)
    return {"median": r(statistics.median(ms)), "min": r(ms[0]), "p90": r(p90), "stddev": r(sd), "n": len(ms)}


def blas_info(torch):
    """Short description of the BLAS actually loaded and the kernel it chose."""
    parts = []
    try:
        import threadpoolctl
        for i in threadpoolctl.threadpool_info():
            if i.get("user_api") == "blas":
                parts.append(f"{i['internal_api']} {i.get('version')} ({i.get('threading_layer')}), "
                             f"kernel {i.get('architecture')}, {i.get('num_threads')} threads")
    except ImportError:
        parts.append("threadpoolctl unavailable")
    # torch's own build note: "generic" means it calls whatever libblas.so.3 is installed
    parts += re.findall(r"\bBLAS_INFO=[^,\s]+", torch.__config__.show())
    parts.append("OPENBLAS_CORETYPE=" + os.environ.get("OPENBLAS_CORETYPE", "unset"))
    return "; ".join(parts)


def main():
    a = parse_args()
    # torch.set_num_threads only sizes OpenMP; OpenBLAS keeps its own pool
    # (default: all cores), so pin it through the environment before import.
    os.environ["OPENBLAS_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = str(a.threads)
    import torch
    torch.set_num_threads(a.threads)
    log = lambda *m: print(*m, file=sys.stderr, flush=True)

    results = []
    configs = [(v, b, s, h, d) for v in a.variants.split(",") if v for b in ints(a.batch)
               for s in ints(a.seq) for h in ints(a.heads) for d in ints(a.head_dim)]
    with torch.inference_mode():  # no autograd bookkeeping, like a forward pass
        for variant, bs, sl, nh, hs in configs:
            torch.manual_seed(0)
            kv, data, *fns = build(torch, variant, bs, sl, nh, hs)
            warm = [run_once(fns, data) for _ in range(max(2, a.warmup))]  # at least 2
            if a.repeats:
                n = a.repeats
            else:
                # seed rule (fewer repeats for longer sequences), capped by the
                # time budget estimated from the last warm-up, but at least 3
                n = max(1, math.floor(500 * (64 / sl) ** (1 / 3)))
                n = max(3, min(n, int(a.budget_ms * 1e6 // max(1, warm[-1]["total"]))))
            runs = [run_once(fns, data) for _ in range(n)]
            stages = {s: summary([r[s] for r in runs]) for s in STAGES}
            total = summary([r["total"] for r in runs])
            if a.samples:
                total["samples"] = [round(r["total"] / 1e6, 4) for r in runs]
            log(f"{variant} bs={bs} sl={sl} nh={nh} hs={hs}: total median {total['median']} ms (n={n})")
            results.append({"variant": variant, "batch": bs, "seq": sl, "heads": nh, "kvHeads": kv,
                            "headDim": hs, "totalMs": total, "stages": stages})
            del data, fns

    print(json.dumps({"framework": "pytorch", "version": torch.__version__, "threads": torch.get_num_threads(),
                      "blas": blas_info(torch), "results": results}, indent=2))


if __name__ == "__main__":
    main()
