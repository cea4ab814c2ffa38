"""Hugging Face transformers backend (Marian opus-mt, NLLB-200 / M2M100) and the CTranslate2
backend, which shares its tokenizer handling."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from mt_aug import languages
from mt_aug.config import ModelSpec
from mt_aug.translation.base import BackendError, Translation

_WEIGHT_SUFFIXES = (".safetensors", ".bin")


@lru_cache(maxsize=16)
def folder_hash(path: str) -> str:
    """Content hash of a local model folder's weights and vocabularies."""
    h = hashlib.sha256()
    root = Path(path)
    for f in sorted(root.rglob("*")):
        if f.is_file() and (f.suffix in _WEIGHT_SUFFIXES or f.suffix in (".model", ".spm", ".json")):
            h.update(f.relative_to(root).as_posix().encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def ct2_device(spec: ModelSpec) -> str:
    import ctranslate2

    if spec.device != "auto":
        return spec.device
    return "cuda" if ctranslate2.get_cuda_device_count() else "cpu"


def ct2_compute_type(spec: ModelSpec) -> str:
    """int8 on CPU, float16 on GPU unless the spec names one."""
    if spec.compute_type != "default":
        return spec.compute_type
    return "int8" if ct2_device(spec) == "cpu" else "float16"


def model_identity(spec: ModelSpec) -> str:
    """Model id with revision or content hash (and, for CTranslate2, the compute type): the
    model part of the cache key, known without loading the model."""
    if Path(spec.model).is_dir():
        ident = f"{Path(spec.model).name}@sha256:{folder_hash(str(Path(spec.model).resolve()))}"
    else:
        ident = f"{spec.model}@{spec.revision or 'main'}"
    return ident + f"/{ct2_compute_type(spec)}" if spec.backend == "ctranslate2" else ident


class _Tokenizing:
    """Tokenizer setup shared by both backends: NLLB needs language codes, Marian does not."""

    def _load_tokenizer(self, spec: ModelSpec, src: str, tgt: str) -> None:
        from transformers import AutoTokenizer

        try:
            self.tok = AutoTokenizer.from_pretrained(spec.model, revision=spec.revision)
        except (OSError, ValueError) as exc:
            raise BackendError(f"{spec.model}: cannot load a tokenizer: {exc}".splitlines()[0]) from None
        self.nllb = "nllb" in type(self.tok).__name__.lower() or "m2m" in type(self.tok).__name__.lower()
        self.tgt_code: str | None = None
        if self.nllb:
            src_code, self.tgt_code = languages.nllb_code(src), languages.nllb_code(tgt)
            for code in (src_code, self.tgt_code):
                if self.tok.convert_tokens_to_ids(code) in (None, self.tok.unk_token_id):
                    raise BackendError(f"{spec.model}: the model does not know language {code}")
            self.tok.src_lang = src_code
            self.tok.tgt_lang = self.tgt_code


class TransformersBackend(_Tokenizing):
    name = "transformers"

    def __init__(self, spec: ModelSpec, src: str, tgt: str) -> None:
        import torch
        from transformers import AutoConfig, AutoModelForSeq2SeqLM

        try:
            config = AutoConfig.from_pretrained(spec.model, revision=spec.revision)
        except (OSError, ValueError) as exc:
            raise BackendError(f"{spec.model}: not a model folder or Hub id: {exc}".splitlines()[0]) from None
        if not getattr(config, "is_encoder_decoder", False):
            raise BackendError(f"{spec.model}: not a translation model (model_type {config.model_type!r} is not encoder-decoder)")
        self._load_tokenizer(spec, src, tgt)
        device = "cuda" if spec.device in ("cuda", "auto") and torch.cuda.is_available() else "cpu"
        if spec.device == "cuda" and device != "cuda":
            raise BackendError("transformers: device cuda asked for, but torch sees no GPU")
        dtype = {"float16": torch.float16, "bfloat16": torch.bfloat16}.get(spec.compute_type, torch.float32)
        if device == "cpu":
            dtype = torch.float32
            torch.set_num_threads(spec.threads)
        self.model = AutoModelForSeq2SeqLM.from_pretrained(spec.model, revision=spec.revision, dtype=dtype)
        self.model.eval().to(device)
        self.model.generation_config.max_length = None  # max_new_tokens below is the limit
        self.device, self.spec = device, spec
        self.model_id = model_identity(spec)
        self._pair = (src, tgt)

    def translate(self, segments: Sequence[str], src: str, tgt: str) -> list[Translation]:
        import torch

        if (src, tgt) != self._pair:
            raise BackendError(f"transformers: this backend translates {self._pair}, not {(src, tgt)}")
        enc = self.tok(list(segments), return_tensors="pt", padding=True, truncation=True,
                       max_length=self.spec.max_length).to(self.device)
        kwargs: dict[str, Any] = {"num_beams": self.spec.beam_size, "do_sample": False,
                                  "max_new_tokens": self.spec.max_length}
        if self.tgt_code is not None:
            kwargs["forced_bos_token_id"] = self.tok.convert_tokens_to_ids(self.tgt_code)
        with torch.inference_mode():
            out = self.model.generate(**enc, **kwargs)
        texts = self.tok.batch_decode(out, skip_special_tokens=True)
        in_lengths = enc["attention_mask"].sum(dim=1).tolist()
        return [Translation(t.strip(), hit_length_limit=self._content_len(row) >= self.spec.max_length - 1
                            or m >= self.spec.max_length)
                for t, row, m in zip(texts, out.tolist(), in_lengths, strict=True)]

    def _content_len(self, row: list[int]) -> int:
        """Generated tokens other than the decoder start, the language code and the final EOS."""
        new = row[1:]
        while new and new[-1] == self.tok.pad_token_id and self.tok.pad_token_id != self.tok.eos_token_id:
            new.pop()
        n = len(new) - (1 if self.tgt_code else 0)
        return n - 1 if new and new[-1] == self.tok.eos_token_id else n

    def close(self) -> None:
        pass


class CTranslate2Backend(_Tokenizing):
    name = "ctranslate2"

    def __init__(self, spec: ModelSpec, src: str, tgt: str) -> None:
        import ctranslate2

        folder = Path(spec.model)
        if not (folder / "model.bin").is_file():
            raise BackendError(f"{spec.model}: not a CTranslate2 model folder (no model.bin); convert with `mt-aug convert`")
        self._load_tokenizer(spec, src, tgt)
        self.translator = ctranslate2.Translator(str(folder), device=ct2_device(spec), device_index=spec.device_index,
                                                 compute_type=ct2_compute_type(spec), inter_threads=1,
                                                 intra_threads=spec.threads)
        self.spec = spec
        self.model_id = model_identity(spec)
        self._pair = (src, tgt)

    def translate(self, segments: Sequence[str], src: str, tgt: str) -> list[Translation]:
        if (src, tgt) != self._pair:
            raise BackendError(f"ctranslate2: this backend translates {self._pair}, not {(src, tgt)}")
        ids = self.tok(list(segments), truncation=True, max_length=self.spec.max_length)["input_ids"]
        tokens = [self.tok.convert_ids_to_tokens(x) for x in ids]
        prefix = [[self.tgt_code] for _ in tokens] if self.tgt_code else None
        results = self.translator.translate_batch(
            tokens, target_prefix=prefix, beam_size=self.spec.beam_size, max_batch_size=self.spec.batch_size,
            # the same budget as transformers' max_new_tokens: with NLLB the language code takes
            # one position; Marian's forced EOS takes the last one
            max_decoding_length=self.spec.max_length if self.tgt_code else self.spec.max_length - 1,
            max_input_length=self.spec.max_length,
        )
        out = []
        for src_ids, r in zip(ids, results, strict=True):
            hyp = r.hypotheses[0]
            if self.tgt_code and hyp and hyp[0] == self.tgt_code:
                hyp = hyp[1:]
            text = self.tok.decode(self.tok.convert_tokens_to_ids(hyp), skip_special_tokens=True)
            hit = len(hyp) >= self.spec.max_length - 1 or len(src_ids) >= self.spec.max_length
            out.append(Translation(text.strip(), hit_length_limit=hit))
        return out

    def close(self) -> None:
        del self.translator


def convert(model: str, out: str, quantization: str | None = None, revision: str | None = None) -> str:
    """Convert a transformers model to CTranslate2 (tokenizer files copied alongside)."""
    import ctranslate2
    from transformers import AutoTokenizer

    converter = ctranslate2.converters.TransformersConverter(model, revision=revision, load_as_float16=False)
    done = str(converter.convert(out, quantization=quantization, force=True))
    AutoTokenizer.from_pretrained(model, revision=revision).save_pretrained(done)  # the backend tokenizes with it
    return done
