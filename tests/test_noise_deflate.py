"""zlib streams for label PNGs: ISA-L's and zlib's are interchangeable."""
import zlib

import numpy as np
import pytest

from anl_seg.noise import deflate


def sample_bytes():
    rng = np.random.default_rng(0)
    runs = np.repeat(rng.integers(0, 21, 3000, np.uint8), 40)
    scattered = rng.integers(0, 21, 50000, np.uint8)
    return np.concatenate([runs, scattered]).tobytes()


@pytest.fixture(params=['isal', 'zlib'])
def backend(request, monkeypatch):
    if request.param == 'isal' and deflate.isal_zlib is None:
        pytest.skip('isal is not installed')
    monkeypatch.setattr(deflate, 'USES_ISAL', request.param == 'isal')
    return request.param


def test_streams_read_by_either_library(backend):
    data = sample_bytes()
    for strategy in (zlib.Z_RLE, zlib.Z_HUFFMAN_ONLY):
        packed = deflate.compress(data, strategy)
        assert zlib.decompress(packed) == data
        assert deflate.decompress(packed) == data
    assert deflate.decompress(zlib.compress(data, 9)) == data
    assert deflate.decompress(memoryview(zlib.compress(data))) == data


def test_zlib_runs_at_level_1_with_the_strategy_asked(monkeypatch):
    monkeypatch.setattr(deflate, 'USES_ISAL', False)
    data = sample_bytes()
    for strategy in (zlib.Z_RLE, zlib.Z_HUFFMAN_ONLY):
        compressor = zlib.compressobj(1, zlib.DEFLATED, zlib.MAX_WBITS, 8,
                                      strategy)
        assert deflate.compress(data, strategy) == \
            compressor.compress(data) + compressor.flush()


def test_corrupt_streams_raise(backend):
    packed = deflate.compress(sample_bytes())
    wrong_check = packed[:-1] + bytes([packed[-1] ^ 1])
    for bad in (packed[:len(packed) // 2], b'no zlib stream', wrong_check):
        with pytest.raises(deflate.ERRORS):
            deflate.decompress(bad)


@pytest.mark.parametrize('size', [0, 1, 65535, 65536, 200001])
def test_stored_streams_hold_the_data(backend, size):
    data = np.random.default_rng(size).integers(0, 256, size,
                                                np.uint8).tobytes()
    stream = deflate.stored(data)
    assert zlib.decompress(stream) == data
    assert deflate.decompress(stream) == data
    assert len(stream) == len(data) + 6 + 5 * max(1, -(-size // 65535))


def test_checksums_are_zlibs(backend):
    data = sample_bytes()
    assert deflate.crc32(data) == zlib.crc32(data)
    assert deflate.crc32(data, 12345) == zlib.crc32(data, 12345)
    assert deflate.adler32(data) == zlib.adler32(data)
