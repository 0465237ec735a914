"""Training of the extractive reader: SQuAD data, self-made negatives, fine-tuning, calibration, export (extra `train`)."""
