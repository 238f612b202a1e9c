"""Spec stage: train.yaml -> validated TrainSpec (see loader.load_spec)."""
