"""Evaluation metrics of the COPS project."""
from .cops_panoptic_metric import COPSPanopticMetric
from .cops_sem_seg_metric import COPSSemSegMetric
from .inference_time_metric import InferenceTimeMetric

__all__ = ['COPSPanopticMetric', 'COPSSemSegMetric', 'InferenceTimeMetric']
