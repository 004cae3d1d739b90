"""Measurement: OS counters, the hardware, CodeCarbon's data, the settings and the meter.

The bottom layer: it imports nothing else of the package but ``units`` and ``errors``.
    counters.py         process-tree CPU time and memory, machine CPU time, RAPL (cheap reads)
    hardware.py         CPU model, TDP per thread, NVML GPUs (detected once per session)
    codecarbon_data.py  CodeCarbon's bundled data files, read offline
    settings.py         user settings, their provenance, the carbon intensity
    meter.py            counter deltas -> energy and CO2 (README's "How the numbers are made")
    quality.py          how far to trust one run's figures
    threads.py          %%carbon --threads N: affinity and BLAS/OpenMP pools, restored after
    model_size.py       the numbers a fitted model stores (mlcost_magic.model_size)
"""
