"""The one point of the matrix: a case on a device in a dtype, with its kernel, and for a benchmark
its pass, backend and size; its id (the run-file key) and the parse of a key back into a point.

Every part of the suite names what it runs with a ``Point``: the correctness checks, the autocast
checks and the benchmarks (suite/harness/matrix.py generates them all), the cold child and the
scripts that time one benchmark (``Point.from_key``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from rnnsuite.cases import CASES, DTYPES, Case, Size
from rnnsuite.vocabulary import BACKENDS, DEFAULT_KERNEL, DEVICES, KERNELS, PASSES, dtype_name, identity


@dataclass(frozen=True)
class Point:
    """One point of the matrix.

    A correctness point has no pass: ``case-device-dtype``, then ``-<kernel>`` for a kernel other
    than the default and ``-autocast`` for a run in float32 under ``torch.autocast(device, dtype)``.
    A benchmark has a pass, a size preset and a size: ``case-device-dtype-pass-backend-preset-shape``
    (the backend with ``_<kernel>`` for a kernel other than the default, e.g. ``eager_native``).
    """

    case: Case
    device: str
    dtype: torch.dtype
    kernel: str = DEFAULT_KERNEL
    pass_: str | None = None  # None: a correctness point; fwd or fwd_bwd: a benchmark
    backend: str = "eager"
    preset: str | None = None
    size: Size | None = None
    autocast: bool = False

    @classmethod
    def benchmark(
        cls,
        case: Case,
        device: str,
        dtype: torch.dtype,
        pass_: str,
        backend: str,
        preset: str,
        size: Size,
        kernel: str = DEFAULT_KERNEL,
    ) -> Point:
        """A benchmark's point."""
        return cls(case, device, dtype, kernel, pass_, backend, preset, size)

    @property
    def dtype_name(self) -> str:
        return dtype_name(self.dtype)

    @property
    def identity(self) -> dict[str, str | None]:
        """The run-file identity of this point's records: ``key, case, device, dtype``."""
        return identity(self.id, self.case.name, self.device, self.dtype_name)

    @property
    def backend_key(self) -> str:
        """The backend, with ``_<kernel>`` appended for a kernel other than the default (``eager_native``)."""
        return self.backend if self.kernel == DEFAULT_KERNEL else f"{self.backend}_{self.kernel}"

    @property
    def bench_size(self) -> Size:
        """A benchmark's size (a correctness point has none: ValueError)."""
        if self.size is None or self.pass_ is None:
            raise ValueError(f"{self.id} is not a benchmark")
        return self.size

    @property
    def bench_pass(self) -> str:
        """A benchmark's pass (a correctness point has none: ValueError)."""
        if self.pass_ is None:
            raise ValueError(f"{self.id} is not a benchmark")
        return self.pass_

    @property
    def id(self) -> str:
        """The test id and run-file key."""
        base = f"{self.case.name}-{self.device}-{self.dtype_name}"
        if self.pass_ is None or self.size is None:
            kernel = "" if self.kernel == DEFAULT_KERNEL else f"-{self.kernel}"
            return base + kernel + ("-autocast" if self.autocast else "")
        return f"{base}-{self.pass_}-{self.backend_key}-{self.preset}-{self.size.label}"

    @classmethod
    def from_key(cls, key: str) -> Point:
        """The point a key names (the inverse of ``id``), e.g. for a script that times one benchmark.

        Raises:
            ValueError: one line saying which part of the key is unknown.
        """
        parts = key.split("-")
        case = CASES.get(parts[0])
        if case is None or len(parts) < 3:
            raise ValueError(f"{key!r} is not a key of this suite's cases (case-device-dtype..., as in a run file)")
        device, dtype = parts[1], parts[2]
        if len(parts) == 7:
            pass_, backend_key, preset, shape = parts[3:]
            size = next((s for s in case.sizes.get(preset, ()) if s.label == shape), None)
            if size is None:
                raise ValueError(f"{key!r}: case {case.name} has no size {shape!r} in preset {preset!r}")
            backend, _, kernel = backend_key.partition("_")
            point = cls(
                case, device, DTYPES.get(dtype, torch.float64), kernel or DEFAULT_KERNEL, pass_, backend, preset, size
            )
            _check_known(key, device=device, dtype=dtype, kernel=kernel or DEFAULT_KERNEL, pass_=pass_, backend=backend)
            return point
        tail = parts[3:]
        autocast = tail[-1:] == ["autocast"]
        tail = tail[:-1] if autocast else tail
        kernel = tail[0] if len(tail) == 1 else DEFAULT_KERNEL
        if len(tail) > 1 or (tail and tail[0] == DEFAULT_KERNEL):
            raise ValueError(f"{key!r} is not a key (case-device-dtype[-kernel][-autocast] or a benchmark's 7 parts)")
        _check_known(key, device=device, dtype=dtype, kernel=kernel)
        return cls(case, device, DTYPES[dtype], kernel, autocast=autocast)


def _check_known(key: str, **values: str) -> None:
    known = {"device": DEVICES, "dtype": tuple(DTYPES), "kernel": KERNELS, "pass_": PASSES, "backend": BACKENDS}
    bad = [f"{what.rstrip('_')} {value!r}" for what, value in values.items() if value not in known[what]]
    if bad:
        raise ValueError(f"{key!r}: unknown {', '.join(bad)}")
