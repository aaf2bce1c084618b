"""Inference API of the COPS project (import explicitly: it pulls in
``mmdet.apis``)."""
from .cops_inferencer import COPSInferencer

__all__ = ['COPSInferencer']
