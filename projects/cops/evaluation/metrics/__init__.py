"""Evaluation metrics of the COPS project."""
from .cops_panoptic_metric import CopsPanopticMetric
from .cops_sem_seg_metric import CopsSemSegMetric
from .inference_time_metric import InferenceTimeMetric

__all__ = ['CopsPanopticMetric', 'CopsSemSegMetric', 'InferenceTimeMetric']
