"""The quiet Jupyter kernel: keeps TensorFlow's C++ start-up lines out of notebook outputs."""
from __future__ import annotations

import json
import sys
from pathlib import Path

KERNEL_NAME = "tlkit-quiet"


def kernel_spec() -> dict:
    """kernel.json of the quiet kernel (same Python as this process)."""
    return {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}",
                 "--IPKernelApp.capture_fd_output=False"],
        "display_name": "Python 3 (tlkit, quiet TensorFlow)",
        "language": "python",
        "env": {"TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"},
        "metadata": {"debugger": False},
    }


def install_kernel(prefix: str | None = None) -> Path:
    """Install (or refresh) the ``tlkit-quiet`` kernelspec under ``prefix`` (default: sys.prefix)."""
    d = Path(prefix or sys.prefix) / "share" / "jupyter" / "kernels" / KERNEL_NAME
    d.mkdir(parents=True, exist_ok=True)
    (d / "kernel.json").write_text(json.dumps(kernel_spec(), indent=1))
    return d
