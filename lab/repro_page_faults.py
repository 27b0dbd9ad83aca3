"""Standalone reproducer: a fresh nn.LSTM faults its forward buffers in again on every no-grad call.

Needs only torch (no rnnsuite). Usage (see docs/notes/page-faults.md for the figures):
    python lab/repro_page_faults.py                # fresh model
    python lab/repro_page_faults.py --round-trip   # the same after m.double().float()
    python lab/repro_page_faults.py --batch 64
    LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 python lab/repro_page_faults.py
    MALLOC_MMAP_THRESHOLD_=67108864 MALLOC_TRIM_THRESHOLD_=1073741824 python lab/repro_page_faults.py
    python lab/repro_page_faults.py --warm         # after one 32 MiB buffer was freed (glibc's threshold raised)
    ONEDNN_VERBOSE=1 python lab/repro_page_faults.py --calls 3 --no-timer | grep -c reorder
Prints minor page faults per call over --calls calls, and Timer.blocked_autorange's median.
"""

import argparse
import resource

import torch
import torch.utils.benchmark as tb

ap = argparse.ArgumentParser()
ap.add_argument("--batch", type=int, default=16)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--calls", type=int, default=100)
ap.add_argument("--round-trip", action="store_true", help="m.double().float() before timing")
ap.add_argument("--warm", action="store_true", help="free a buffer of just under 32 MiB first")
ap.add_argument("--no-timer", action="store_true")
args = ap.parse_args()

torch.set_num_threads(args.threads)
if args.warm:  # glibc raises its mmap threshold to the size of a freed mmapped buffer (at most 32 MiB)
    buf = torch.empty((32 << 20) - (64 << 10), dtype=torch.uint8)
    del buf
torch.manual_seed(0)
m = torch.nn.LSTM(512, 512)  # float32, as a user builds it
if args.round_trip:
    m = m.double().float()
x = torch.randn(25, args.batch, 512)


def call() -> None:
    with torch.no_grad():
        m(x)


for _ in range(3):
    call()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(args.calls):
    call()
faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / args.calls
onednn = next((ln.split("v", 1)[1].split()[0] for ln in torch.__config__.show().splitlines() if "MKL-DNN v" in ln), "?")
print(f"torch {torch.__version__}, oneDNN {onednn}, {args.threads} threads, T25 B{args.batch} H512")
print(f"minor page faults per call: {faults:.1f}")
if not args.no_timer:
    t = tb.Timer(stmt="call()", globals={"call": call}, num_threads=args.threads).blocked_autorange(min_run_time=1.0)
    print(f"Timer.blocked_autorange median: {t.median * 1e3:.2f} ms")
