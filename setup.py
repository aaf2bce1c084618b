"""Install COPS: the ``projects.cops`` mmdet project and the ``mmcv_ops`` solver op.

The solver op is compiled as a torch C++ extension (``mmcv_ops._ext``, CPU only)
from the sources under ``mmcv_ops/csrc``: plain C++ solver files in ``common``
plus a thin torch binding in ``pytorch``. It is compiled for generic x86-64 (or
the platform's default target) so that a wheel runs anywhere; ``COPS_NATIVE=1``
compiles it for the building machine's CPU (``-march=native``, see
``docs/solver.md`` for the gain).

Install (torch must already be installed, see ``requirements/build.txt``)::

    pip install --no-build-isolation -e .
"""
import glob
import os
import os.path as osp

from setuptools import find_packages, setup

ROOT = osp.dirname(osp.abspath(__file__))
CSRC = osp.join('mmcv_ops', 'csrc')


def read_requirements(name):
    """Requirement lines of ``requirements/<name>.txt`` without comments."""
    with open(osp.join(ROOT, 'requirements', name)) as f:
        lines = (line.split('#')[0].strip() for line in f)
        return [line for line in lines if line and not line.startswith('-')]


def native_requested():
    return os.getenv('COPS_NATIVE', '0') == '1'


def sources(*patterns):
    found = []
    for pattern in patterns:
        found += sorted(glob.glob(osp.join(CSRC, pattern), recursive=True))
    return found


def make_extensions():
    """The ``mmcv_ops._ext`` extension, or nothing when there are no sources."""
    cpp_sources = sources('common/*.cpp', 'pytorch/*.cpp', 'pytorch/cpu/*.cpp')
    if not cpp_sources:
        return [], {}
    from torch.utils.cpp_extension import BuildExtension, CppExtension
    cxx_flags = ['-O3', '-std=c++20', '-fvisibility=hidden']
    if native_requested():
        cxx_flags.append('-march=native')
    extension = CppExtension(
        'mmcv_ops._ext',
        cpp_sources,
        include_dirs=[osp.abspath(CSRC),
                      osp.abspath(osp.join(CSRC, 'common'))],
        extra_compile_args={'cxx': cxx_flags})
    return [extension], {'build_ext': BuildExtension}


ext_modules, cmdclass = make_extensions()

setup(
    name='cops-mmdet',
    version='0.1.0',
    description='COPS: fully differentiable panoptic segmentation with an '
    'asymmetric multiway cut solver, on OpenMMLab 2.0',
    long_description=open(osp.join(ROOT, 'README.md')).read(),
    long_description_content_type='text/markdown',
    license='Apache License 2.0',
    python_requires='>=3.9',
    packages=find_packages(include=['projects', 'projects.*', 'mmcv_ops']),
    include_package_data=False,
    install_requires=read_requirements('runtime.txt'),
    extras_require={'tests': read_requirements('tests.txt')},
    ext_modules=ext_modules,
    cmdclass=cmdclass,
    zip_safe=False,
)
