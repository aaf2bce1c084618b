"""OpenMMLab-style projects shipped with this repository."""
