"""Corrected training masks on disk, one PNG per sample.

The dataloader's worker processes read the masks from here (through
:class:`~anl_seg.correction.transform.LoadCorrectedLabels`), so a mask
corrected in the main process is seen by every worker and, when the folder
is shared, by every rank. Files are replaced atomically, so a worker never
reads a half-written mask. The masks on the dataset's own disk are never
touched.
"""
import hashlib
import os
import os.path as osp
import tempfile

import cv2
import numpy as np
import torch


def _encode(mask):
    if mask.ndim != 2 or mask.min(initial=0) < 0 or mask.max(
            initial=0) > 65535:
        raise ValueError(f'a corrected mask must be a 2-D array of ids in '
                         f'[0, 65535], got shape {mask.shape}')
    dtype = np.uint8 if mask.max(initial=0) <= 255 else np.uint16
    ok, data = cv2.imencode('.png', mask.astype(dtype))
    if not ok:
        raise ValueError('OpenCV could not encode a corrected mask')
    return data.tobytes()


def _decode(data, source):
    mask = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if mask is None or mask.ndim != 2:
        raise ValueError(f'{source}: not a single-channel PNG mask')
    return mask


class CorrectionStore:
    """A folder of corrected masks keyed by the original mask's path.

    Args:
        root (str): The folder (created if missing).
    """

    def __init__(self, root):
        self.root = str(root)
        os.makedirs(self.root, exist_ok=True)

    @staticmethod
    def file_name(seg_map_path):
        """Name of the corrected copy of the mask at ``seg_map_path``."""
        digest = hashlib.sha1(str(seg_map_path).encode()).hexdigest()[:20]
        stem = osp.splitext(osp.basename(str(seg_map_path)))[0]
        return f'{stem}.{digest}.png'

    def path(self, seg_map_path):
        return osp.join(self.root, self.file_name(seg_map_path))

    def read(self, seg_map_path):
        """The corrected mask of ``seg_map_path``, or ``None``."""
        path = self.path(seg_map_path)
        try:
            with open(path, 'rb') as file:
                data = file.read()
        except FileNotFoundError:
            return None
        return _decode(data, path)

    def write(self, seg_map_path, mask):
        """Store ``mask`` as the corrected mask of ``seg_map_path``."""
        self._write_bytes(self.file_name(seg_map_path), _encode(mask))

    def remove(self, seg_map_path):
        """Forget the corrected mask of ``seg_map_path`` (if any)."""
        try:
            os.unlink(self.path(seg_map_path))
        except FileNotFoundError:
            pass

    def _write_bytes(self, name, data):
        fd, tmp = tempfile.mkstemp(dir=self.root, suffix='.tmp')
        try:
            with os.fdopen(fd, 'wb') as file:
                file.write(data)
            os.replace(tmp, osp.join(self.root, name))
        except BaseException:
            if osp.exists(tmp):
                os.unlink(tmp)
            raise

    def names(self):
        return sorted(n for n in os.listdir(self.root) if n.endswith('.png'))

    def clear(self):
        for name in self.names():
            os.unlink(osp.join(self.root, name))

    def state_dict(self):
        """Every stored mask as PNG bytes in ``uint8`` tensors (loadable
        with ``torch.load(weights_only=True)``)."""
        state = {}
        for name in self.names():
            with open(osp.join(self.root, name), 'rb') as file:
                state[name] = torch.frombuffer(
                    bytearray(file.read()), dtype=torch.uint8)
        return state

    def load_state_dict(self, state):
        """Replace the stored masks by those of :meth:`state_dict`."""
        self.clear()
        for name, data in state.items():
            if osp.basename(name) != name or not name.endswith('.png'):
                raise ValueError(f'bad corrected-mask name {name!r} in the '
                                 f'checkpoint')
            self._write_bytes(name, data.numpy().tobytes())
