"""Hard negatives of the sources that carry them (DPR), through the build (`hard_negatives:` in
the config).

`english` decontaminates the English negatives (every build) and segments the first K of each
pair for translation (the segment stage); `judge` rebuilds them in one target language from
the segments that passed the quality gate, decontaminated against that language's eval texts
(the quality-<lang> stage). A negative that fails is dropped (stage `hard-negatives` in
drops.jsonl), never its pair or view. The pipeline's stages (mt_aug.pipeline) call them; the
pack stage writes the negatives into the shards' `hard_negatives` column."""
