"""Decontamination: eval-set readers (`eval_sets`) and the n-gram / exact / similarity matcher (`matcher`)."""
