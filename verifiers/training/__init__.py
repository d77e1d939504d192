"""Training an entailment verifier: data, perturbations, trainers, calibration."""
