// IVF_FLAT, IVF_SQ8, IVF_PQ and SCANN over Faiss 1.7.3 inverted-file indexes
// (Jegou, Douze, Schmid, "Product quantization for nearest neighbor search",
// TPAMI 2011, for IVF + PQ; Guo et al., "Accelerating Large-Scale Inference
// with Anisotropic Vector Quantization", ICML 2020, for what Milvus calls
// SCANN: IVF + 4-bit PQ scanned with SIMD look-up tables, re-ranked with the
// raw vectors).
//
//   IVF_FLAT  faiss::IndexIVFFlat                 build: nlist (128)
//   IVF_SQ8   faiss::IndexIVFScalarQuantizer 8bit build: nlist (128)
//   IVF_PQ    faiss::IndexIVFPQ                   build: nlist (128), m (largest
//             divisor of dim <= dim/4), nbits (8, in [1, 16])
//   SCANN     faiss::IndexIVFPQFastScan, m = dim/2 (dim when odd), nbits 4;
//             build: nlist (128), with_raw_data (true: re-rank with exact
//             distances from the base column; false: PQ distances)
//   search:   nprobe (8, clamped to the number of lists); SCANN: reorder_k
//             (default k): candidates re-ranked per query.
//
// Metrics L2 / IP / COSINE on Float / Float16 / BFloat16 / Int8 vectors:
// vectors are converted to float32; for COSINE they are L2-normalised at
// build and the query is normalised, so Faiss's inner product is the cosine
// similarity. Null rows are not added (Faiss ids are row numbers).
//
// Small segments: nlist is clamped to rows / 39 (Faiss's k-means minimum per
// centroid), at least 1; a PQ index over fewer rows than 2^nbits codebook
// entries is not trained at all and searches exactly with flat::Search.
//
// Filters: Faiss 1.7.3 honours SearchParameters::sel in IndexIVF::search
// (IVF_FLAT, IVF_SQ8, IVF_PQ), so the mask is applied inside the list scan.
// IndexIVFFastScan::search (SCANN) rejects any SearchParameters, so SCANN
// post-filters an oversampled candidate list. In all cases a query that gets
// fewer than min(k, passing rows) hits, or a mask passing under 5% of the
// rows, is answered exactly by flat::Search over the base.
//
// Threads: Search runs Faiss under OmpThreads(1) on the calling thread;
// Build trains and adds with `threads` OpenMP threads. Batches of 20 or more
// queries make Faiss's coarse quantizer call BLAS sgemm, which may use
// OpenBLAS's own pool, as flat::Search does.
#pragma once

#include <memory>
#include <string_view>

#include "index/index_util.h"
#include "index/vector_index.h"

namespace kite::index {

Result<std::unique_ptr<VectorIndex>> BuildFaissIvfIndex(const internal::IndexSpec& spec, const Params& params,
                                                        const Column& column, int threads);
Result<std::unique_ptr<VectorIndex>> LoadFaissIvfIndex(const internal::IndexHeader& header, std::string_view body);

}  // namespace kite::index
