"""Install COPS: the ``projects.cops`` mmdet project and the ``mmcv_ops`` solver op.

The solver op is compiled as a torch C++ extension (``mmcv_ops._ext``) from the
sources under ``mmcv_ops/csrc``: plain C++ solver files plus a thin torch binding.
A CUDA build is only attempted with ``FORCE_CUDA=1`` (or ``WITH_CUDA=1``) and only
compiles ``csrc/pytorch/cuda`` sources when that folder exists.

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


def cuda_requested():
    return any(
        os.getenv(flag, '0') == '1' for flag in ('FORCE_CUDA', 'WITH_CUDA'))


def sources(*patterns):
    found = []
    for pattern in patterns:
        found += sorted(glob.glob(osp.join(CSRC, pattern), recursive=True))
    return found


def make_extensions():
    """The ``mmcv_ops._ext`` extension, or nothing when there are no sources."""
    cpp_sources = sources('common/**/*.cpp', 'pytorch/*.cpp', 'pytorch/cpu/*.cpp')
    if not cpp_sources:
        return [], {}
    from torch.utils.cpp_extension import (BuildExtension, CppExtension,
                                           CUDAExtension)
    cxx_flags = ['-O3', '-std=c++20', '-fvisibility=hidden']
    include_dirs = [osp.abspath(osp.join(CSRC, 'common'))]
    cuda_sources = sources('pytorch/cuda/*.cu', 'pytorch/cuda/*.cpp')
    if cuda_requested() and cuda_sources:
        extension = CUDAExtension(
            'mmcv_ops._ext',
            cpp_sources + cuda_sources,
            include_dirs=include_dirs,
            define_macros=[('MMCV_OPS_WITH_CUDA', None)],
            extra_compile_args={'cxx': cxx_flags, 'nvcc': ['-O3']})
    else:
        extension = CppExtension(
            'mmcv_ops._ext',
            cpp_sources,
            include_dirs=include_dirs,
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
