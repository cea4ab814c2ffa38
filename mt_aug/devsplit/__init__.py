"""The parallel dev split a build can hold out of its shards (`dev_split:` in the config).

`select` chooses the passages (lowest sha256(seed, passage_id)), `judge` follows the dev pairs
through the quality gate and target-side decontamination in one language, `align` gives each
passage its sentences and carries an English answer to the sentence that holds it, and `files`
writes `dev/lareqa/<lang>.json` and `dev/beir/<lang>/`. The pipeline's `dev-split` and `dev`
stages (mt_aug.pipeline) call them; `mt_aug.release.verify_dev` checks what they wrote, and
`mt_aug.evaluation.dev.dev_paths` finds it for evaluation."""
