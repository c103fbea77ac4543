"""Install anl-seg inside an mmseg 1.x environment: ``pip install .`` (a
wheel) or ``pip install -e .`` (editable, as ``make install`` does)."""
import shutil
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).parent
# Run at interpreter start-up: serves anl_seg's mmcv.ops fallback even when
# mmseg's models are imported before anl_seg (anl_seg/compat/mmcv_lite_hook.py)
STARTUP_PTH = 'anl_seg-mmcv-lite.pth'


# Repository folders a wheel carries in anl_seg/.mim/ at the same relative
# paths, as mmseg carries its configs in mmseg/.mim/ (found there by
# anl_seg.utils.package_data). An editable install reads the checkout.
MIM_FILES = ('configs', 'benchmarks/presets')


def read_requirements(name):
    lines = (HERE / 'requirements' / name).read_text().splitlines()
    return [
        ln.strip() for ln in lines if ln.strip() and not ln.startswith('#')
    ]


class BuildPy(build_py):
    """``build_py`` that also puts :data:`STARTUP_PTH` into site-packages
    (wheels and editable installs alike) and, for a wheel, copies
    :data:`MIM_FILES` into the built package (never into the source tree,
    so no stale copy can shadow the checkout's files)."""

    def run(self):
        super().run()
        target = self.build_lib
        if getattr(self, 'editable_mode', False):
            # editable_wheel points install_lib at the wheel being built
            target = self.distribution.get_command_obj('install').install_lib
        self.copy_file(str(HERE / STARTUP_PTH),
                       str(Path(target) / STARTUP_PTH))
        if getattr(self, 'editable_mode', False):
            return
        mim = Path(self.build_lib) / 'anl_seg' / '.mim'
        shutil.rmtree(mim, ignore_errors=True)  # files deleted since
        for name in MIM_FILES:
            shutil.copytree(
                HERE / name, mim / name,
                ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))

    def get_outputs(self, *args, **kwargs):
        return super().get_outputs(*args, **kwargs) + [
            str(Path(self.build_lib) / STARTUP_PTH)
        ]


setup(
    name='anl-seg',
    version='0.1.0',
    description=('Active Negative Loss and label-noise tools for '
                 'MMSegmentation'),
    long_description=(HERE / 'README.md').read_text(encoding='utf-8'),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['anl_seg', 'anl_seg.*']),
    cmdclass={'build_py': BuildPy},
    python_requires='>=3.8',
    # torch and mmcv are not listed: torch's build (CPU/CUDA) is the user's
    # choice, and a full mmcv must never be replaced by mmcv-lite.
    install_requires=read_requirements('runtime.txt'),
    extras_require={
        'lite': ['mmcv-lite==2.1.0'],
        'fast-png': read_requirements('fast_png.txt'),
        'tests': read_requirements('tests.txt'),
    },
    license='Apache-2.0',
    zip_safe=False,
)
