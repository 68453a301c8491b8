// The TIMESTAMPTZ and GEOMETRY predicates: INTERVAL arithmetic and ST_*.
#include <fmt/format.h>

#include "expr/plan.h"
#include "schema/geometry_valid.h"


namespace kite::expr::internal {

Status SpatialPred::Eval(EvalContext& ctx, BoolVec* out) const {
  KITE_ASSIGN_OR_RETURN(const Column* col, ctx.GetColumn(id_, DataType::kGeometry, name_));
  const int64_t n = ctx.rows();
  out->value.assign(static_cast<size_t>(n), 0);
  out->valid.clear();
  if (!col->valid.empty()) out->valid.assign(col->valid.begin(), col->valid.begin() + n);
  const geo::Envelope& box = filter_->candidate_box();
  const bool use_box = !box.empty;
  std::vector<uint32_t> candidates;
  if (use_box && ctx.indexes() && ctx.indexes()->SpatialCandidates(id_, box, n, &candidates)) {
    // The RTREE index narrows the rows; the exact predicate decides.
    for (uint32_t r : candidates) {
      if (!col->IsNull(r) && filter_->Matches(col->GetBytes(r))) out->value[r] = 1;
    }
    return Status::OK();
  }
  for (int64_t r = 0; r < n; ++r) {
    if (col->IsNull(r)) continue;
    std::string_view wkb = col->GetBytes(r);
    if (use_box && !geo::EnvelopeOfWkb(wkb).Intersects(box)) continue;
    out->value[r] = filter_->Matches(wkb) ? 1 : 0;
  }
  return Status::OK();
}

std::string SpatialPred::ToString() const {
  return std::string(geo::SpatialOpName(filter_->op())) + "(" + name_ + ", ...)";
}

Status GeometryValidPred::Eval(EvalContext& ctx, BoolVec* out) const {
  KITE_ASSIGN_OR_RETURN(const Column* col, ctx.GetColumn(id_, DataType::kGeometry, name_));
  const int64_t n = ctx.rows();
  out->value.assign(static_cast<size_t>(n), 0);
  out->valid.clear();
  if (!col->valid.empty()) out->valid.assign(col->valid.begin(), col->valid.begin() + n);
  for (int64_t r = 0; r < n; ++r) {
    if (!col->IsNull(r) && geo::IsValidWkb(col->GetBytes(r))) out->value[r] = 1;
  }
  return Status::OK();
}

Status TimestamptzArithPred::Eval(EvalContext& ctx, BoolVec* out) const {
  KITE_ASSIGN_OR_RETURN(const Column* col, ctx.GetColumn(id_, DataType::kTimestamptz, name_));
  const int64_t n = ctx.rows();
  out->value.assign(static_cast<size_t>(n), 0);
  out->valid.clear();
  if (!col->valid.empty()) out->valid.assign(col->valid.begin(), col->valid.begin() + n);
  for (int64_t r = 0; r < n; ++r) {
    if (col->IsNull(r)) continue;
    int64_t v = tz::AddInterval(col->Get<int64_t>(r), interval_, sign_);
    bool m = false;
    switch (op_) {
      case CmpOp::kEq: m = v == value_; break;
      case CmpOp::kNe: m = v != value_; break;
      case CmpOp::kLt: m = v < value_; break;
      case CmpOp::kLe: m = v <= value_; break;
      case CmpOp::kGt: m = v > value_; break;
      case CmpOp::kGe: m = v >= value_; break;
    }
    out->value[r] = m ? 1 : 0;
  }
  return Status::OK();
}

std::string TimestamptzArithPred::ToString() const {
  return fmt::format("{} {} interval {} {}", name_, sign_ > 0 ? "+" : "-", CmpOpName(op_), value_);
}

}  // namespace kite::expr::internal
