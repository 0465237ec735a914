"""Which articles of the shared SQuAD dev files are spent, tuned on, or reported on."""

# Trained on by the starting checkpoint (minilm-squad-pilot PROVENANCE.md): never reported on,
# in dev-v2.0-public nor (same questions) in dev-v1.1-public.
PILOT_TRAINED = ("1973_oil_crisis", "Black_Death", "Construction", "Ctenophora", "European_Union_law", "Force",
                 "Geology", "Harvard_University", "Huguenot", "Immune_system", "Islamism", "Jacksonville,_Florida")
# dev-v2.0-public articles that the threshold, the score calibration and the quantization are tuned on.
TUNE = ("Prime_number", "Private_school", "Sky_(United_Kingdom)")
# dev-v2.0-public articles reported on: nothing trained or tuned on them.
REPORT = ("Steam_engine", "Victoria_(Australia)", "Yuan_dynasty")
# dev-v1.1-public articles reported on: all but the spent and the tuned ones.
SQUAD1_EXCLUDED = PILOT_TRAINED + TUNE
