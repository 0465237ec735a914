"""Evaluation: gold questions asked through the pipeline or the reader alone, scored SQuAD-style, and the HTML report."""
