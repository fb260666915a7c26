"""What the local executor's forkserver imports once, before it forks any worker.

First OpenBLAS is told to use one thread, before NumPy loads it: a worker trains on one core
(the slots are the cores), and OpenBLAS would otherwise start a thread pool in every new worker
that spins ~0.1 s of CPU (measured), taken from the other runs' cores. Then the training code
(NumPy, the trainer, the MNIST loader), so a worker starts without importing it.
Only the forkserver imports this module (the server limits its own BLAS in app/main.py).
"""

import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"

from app.runs import local as local  # noqa: E402  (after the variables, on purpose)
