"""Per-item random generators derived from one seed and a stable key."""
import hashlib

import numpy as np


def rng_for(seed, key, *extra):
    """A generator that depends only on ``seed``, ``key`` and ``extra``.

    Items keyed by their (relative) path get independent streams that do
    not depend on processing order, so results are identical for any
    number of worker processes.

    Args:
        seed (int): Run seed.
        key (str): Stable item key, e.g. a mask's relative path.
        *extra (int): More integers to mix in (e.g. an epoch).
    """
    digest = hashlib.sha256(str(key).encode('utf-8')).digest()
    words = [int.from_bytes(digest[i:i + 4], 'little') for i in (0, 4)]
    entropy = [int(seed), *words, *(int(e) for e in extra)]
    return np.random.default_rng(np.random.SeedSequence(entropy))
