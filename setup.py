"""Install anl-seg: ``pip install -e .`` inside an mmseg 1.x environment."""
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent


def read_requirements(name):
    lines = (HERE / 'requirements' / name).read_text().splitlines()
    return [
        ln.strip() for ln in lines if ln.strip() and not ln.startswith('#')
    ]


setup(
    name='anl-seg',
    version='0.1.0',
    description=('Active Negative Loss and label-noise tools for '
                 'MMSegmentation'),
    long_description=(HERE / 'README.md').read_text(encoding='utf-8'),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['anl_seg', 'anl_seg.*']),
    python_requires='>=3.8',
    # torch and mmcv are not listed: torch's build (CPU/CUDA) is the user's
    # choice, and a full mmcv must never be replaced by mmcv-lite.
    install_requires=read_requirements('runtime.txt'),
    extras_require={
        'lite': ['mmcv-lite==2.1.0'],
        'tests': read_requirements('tests.txt'),
    },
    license='Apache-2.0',
)
