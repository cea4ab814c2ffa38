"""Random-weight Marian and NLLB models built from scratch (no Hub): real tokenizers trained
here, real architectures, any size. For tests (d_model 64) and benchmarks (opus-mt base size)."""

from __future__ import annotations

import json
from pathlib import Path

SENTENCES = [
    f"The {a} {v} the {o} near the {p}."
    for a in ("cat", "dog", "bird", "child", "farmer", "teacher")
    for v in ("sees", "finds", "likes", "follows", "paints")
    for o in ("river", "house", "tree", "bridge")
    for p in ("city", "hill", "sea")
]


def build_marian(folder: Path, seed: int = 0, *, d_model: int = 64, layers: int = 2, heads: int = 2,
                 ffn: int = 128, vocab_size: int | None = None, sentences: list[str] | None = None,
                 spm_vocab: int = 40) -> Path:
    """A Marian model. `vocab_size` pads the vocabulary with unused tokens up to a real
    model's size (opus-mt base: d_model 512, 6 layers, 8 heads, ffn 2048, vocab 58101 = 74M)."""
    import sentencepiece as spm
    import torch
    from transformers import MarianConfig, MarianMTModel, MarianTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    corpus = folder / "corpus.txt"
    corpus.write_text("\n".join(sentences or SENTENCES) + "\n", encoding="utf-8")
    spm.SentencePieceTrainer.train(input=str(corpus), model_prefix=str(folder / "sp"), vocab_size=spm_vocab,
                                   model_type="unigram", character_coverage=1.0, bos_id=-1, eos_id=-1, unk_id=0,
                                   pad_id=-1, minloglevel=2)
    corpus.unlink()
    sp = spm.SentencePieceProcessor(model_file=str(folder / "sp.model"))
    # As in opus-mt: </s> and <unk> first, <pad> last (CTranslate2 drops the trailing <pad>).
    pieces = ["</s>", "<unk>"] + [sp.id_to_piece(i) for i in range(sp.get_piece_size())
                                  if sp.id_to_piece(i) != "<unk>"]
    pieces += [f"<unused{i}>" for i in range(max(0, (vocab_size or 0) - len(pieces) - 1))] + ["<pad>"]
    vocab = {p: i for i, p in enumerate(pieces)}
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    for name in ("source.spm", "target.spm"):
        (folder / name).write_bytes((folder / "sp.model").read_bytes())
    (folder / "sp.model").unlink()
    (folder / "sp.vocab").unlink()
    tok = MarianTokenizer(str(folder / "source.spm"), str(folder / "target.spm"), str(folder / "vocab.json"),
                          source_lang="en", target_lang="pt")
    tok.save_pretrained(str(folder))
    torch.manual_seed(seed)
    config = MarianConfig(vocab_size=len(vocab), d_model=d_model, encoder_layers=layers, decoder_layers=layers,
                          encoder_attention_heads=heads, decoder_attention_heads=heads, encoder_ffn_dim=ffn,
                          decoder_ffn_dim=ffn, max_position_embeddings=512, pad_token_id=vocab["<pad>"],
                          eos_token_id=vocab["</s>"], decoder_start_token_id=vocab["<pad>"],
                          forced_eos_token_id=vocab["</s>"], share_encoder_decoder_embeddings=True,
                          init_std=0.3, scale_embedding=True)
    model = MarianMTModel(config)
    model.generation_config.max_length = 64
    model.save_pretrained(str(folder))
    return folder


def build_nllb(folder: Path, seed: int = 0) -> Path:
    """A tiny NLLB (M2M100 architecture) with the real NLLB tokenizer class and language codes."""
    import sentencepiece as spm
    import torch
    from transformers import AutoTokenizer, M2M100Config, M2M100ForConditionalGeneration

    folder.mkdir(parents=True, exist_ok=True)
    corpus = folder / "corpus.txt"
    corpus.write_text("\n".join(SENTENCES) + "\n", encoding="utf-8")
    spm.SentencePieceTrainer.train(input=str(corpus), model_prefix=str(folder / "sentencepiece.bpe"),
                                   vocab_size=60, model_type="bpe", character_coverage=1.0, minloglevel=2)
    corpus.unlink()
    (folder / "sentencepiece.bpe.vocab").unlink()
    (folder / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "NllbTokenizer"}))
    from transformers.models.nllb.tokenization_nllb import FAIRSEQ_LANGUAGE_CODES

    # NLLB's tokenizer must come from from_pretrained on a folder with sentencepiece.bpe.model;
    # a bare folder gets no language codes unless they are named.
    tok = AutoTokenizer.from_pretrained(str(folder), extra_special_tokens=FAIRSEQ_LANGUAGE_CODES)
    tok.save_pretrained(str(folder))
    assert len(AutoTokenizer.from_pretrained(str(folder))) == len(tok)
    torch.manual_seed(seed)
    config = M2M100Config(vocab_size=len(tok), d_model=64, encoder_layers=2, decoder_layers=2,
                          encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=128,
                          decoder_ffn_dim=128, max_position_embeddings=256, pad_token_id=tok.pad_token_id,
                          eos_token_id=tok.eos_token_id, bos_token_id=tok.bos_token_id,
                          decoder_start_token_id=tok.eos_token_id, init_std=0.3, scale_embedding=True)
    model = M2M100ForConditionalGeneration(config)
    model.save_pretrained(str(folder))
    return folder
