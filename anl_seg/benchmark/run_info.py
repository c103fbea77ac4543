"""``run_info.json``: the command, machine and time behind the results."""
import os
import platform
import shlex
from pathlib import Path


def cpu_model():
    """The CPU model name (``lscpu``'s "Model name") where known."""
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'):
                return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info():
    """CPU, usable cores, GPUs and library versions of this machine."""
    import mmengine
    import mmseg
    import torch
    cores = len(os.sched_getaffinity(0)) if hasattr(
        os, 'sched_getaffinity') else os.cpu_count()
    gpus = [
        torch.cuda.get_device_name(i)
        for i in range(torch.cuda.device_count())
    ] if torch.cuda.is_available() else []
    return {
        'cpu': cpu_model(),
        'cpu_cores': cores,
        'gpus': gpus,
        'python': platform.python_version(),
        'torch': torch.__version__,
        'mmengine': mmengine.__version__,
        'mmseg': mmseg.__version__,
    }


def run_info(command, wall_s, results):
    """The record written next to the tables.

    Args:
        command (list[str]): The command that ran the benchmark.
        wall_s (float): Wall time of this invocation.
        results (list[dict]): The finished cell results.
    """
    return {
        'command': shlex.join(command),
        'machine': machine_info(),
        'wall_s_this_invocation': round(wall_s, 1),
        'cells': len(results),
        'cells_train_test_s': round(
            sum(r.get('train_s', 0) + r.get('test_s', 0)
                for r in results), 1),
    }
