// Evaluation of plan nodes over a batch. Each node makes one pass over the
// rows with a loop typed per operator (template on CmpOp) and per column
// type; loads go through memcpy so that columns of bytes can be read as any
// width without alignment or aliasing concerns (compilers turn them into
// plain vector loads).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <iterator>
#include <random>
#include <type_traits>

#include <fmt/format.h>

#include "common/vector_clones.h"
#include "expr/array_reader.h"
#include "expr/plan.h"

namespace kite::expr::internal {
namespace {

template <CmpOp op, typename A, typename B>
inline bool Apply(A a, B b) {
  if constexpr (op == CmpOp::kEq) return a == b;
  if constexpr (op == CmpOp::kNe) return a != b;
  if constexpr (op == CmpOp::kLt) return a < b;
  if constexpr (op == CmpOp::kLe) return a <= b;
  if constexpr (op == CmpOp::kGt) return a > b;
  if constexpr (op == CmpOp::kGe) return a >= b;
}

// Calls f(std::integral_constant<CmpOp, op>) for the runtime `op`.
template <typename F>
void WithOp(CmpOp op, F&& f) {
  switch (op) {
    case CmpOp::kEq: f(std::integral_constant<CmpOp, CmpOp::kEq>{}); break;
    case CmpOp::kNe: f(std::integral_constant<CmpOp, CmpOp::kNe>{}); break;
    case CmpOp::kLt: f(std::integral_constant<CmpOp, CmpOp::kLt>{}); break;
    case CmpOp::kLe: f(std::integral_constant<CmpOp, CmpOp::kLe>{}); break;
    case CmpOp::kGt: f(std::integral_constant<CmpOp, CmpOp::kGt>{}); break;
    case CmpOp::kGe: f(std::integral_constant<CmpOp, CmpOp::kGe>{}); break;
  }
}

bool ApplyOrd(CmpOp op, int ord) {
  switch (op) {
    case CmpOp::kEq: return ord == 0;
    case CmpOp::kNe: return ord != 0;
    case CmpOp::kLt: return ord < 0;
    case CmpOp::kLe: return ord <= 0;
    case CmpOp::kGt: return ord > 0;
    case CmpOp::kGe: return ord >= 0;
  }
  return false;
}

template <typename T>
inline T Load(const uint8_t* data, int64_t i) {
  T v;
  std::memcpy(&v, data + i * static_cast<int64_t>(sizeof(T)), sizeof(T));
  return v;
}

// out[i] = (C)column[i] op c over a packed column of T. Parameters by value
// and __restrict so that the compiler can prove the trip count and vectorise.
template <CmpOp op, typename T, typename C>
KITE_VECTOR_CLONES void CmpRawOp(const uint8_t* __restrict data, int64_t n, C c, uint8_t* __restrict out) {
  for (int64_t i = 0; i < n; ++i) out[i] = Apply<op>(static_cast<C>(Load<T>(data, i)), c);
}
template <typename T, typename C>
void CmpRaw(const uint8_t* data, int64_t n, CmpOp op, C c, uint8_t* out) {
  switch (op) {
    case CmpOp::kEq: CmpRawOp<CmpOp::kEq, T, C>(data, n, c, out); break;
    case CmpOp::kNe: CmpRawOp<CmpOp::kNe, T, C>(data, n, c, out); break;
    case CmpOp::kLt: CmpRawOp<CmpOp::kLt, T, C>(data, n, c, out); break;
    case CmpOp::kLe: CmpRawOp<CmpOp::kLe, T, C>(data, n, c, out); break;
    case CmpOp::kGt: CmpRawOp<CmpOp::kGt, T, C>(data, n, c, out); break;
    case CmpOp::kGe: CmpRawOp<CmpOp::kGe, T, C>(data, n, c, out); break;
  }
}

template <typename T, typename C, bool kLoIncl, bool kHiIncl>
KITE_VECTOR_CLONES void RangeRawImpl(const uint8_t* __restrict data, int64_t n, C lo, C hi, uint8_t* __restrict out) {
  for (int64_t i = 0; i < n; ++i) {
    C v = static_cast<C>(Load<T>(data, i));
    bool a = kLoIncl ? v >= lo : v > lo;
    bool b = kHiIncl ? v <= hi : v < hi;
    out[i] = a & b;
  }
}
template <typename T, typename C>
void RangeRaw(const uint8_t* data, int64_t n, C lo, bool lo_incl, C hi, bool hi_incl, uint8_t* out) {
  if (lo_incl && hi_incl) RangeRawImpl<T, C, true, true>(data, n, lo, hi, out);
  if (lo_incl && !hi_incl) RangeRawImpl<T, C, true, false>(data, n, lo, hi, out);
  if (!lo_incl && hi_incl) RangeRawImpl<T, C, false, true>(data, n, lo, hi, out);
  if (!lo_incl && !hi_incl) RangeRawImpl<T, C, false, false>(data, n, lo, hi, out);
}

// out[i] = column[i] in sorted `set`.
template <typename T, typename C>
KITE_VECTOR_CLONES void InRaw(const uint8_t* __restrict data, int64_t n, const std::vector<C>& set, uint8_t* __restrict out) {
  if (set.empty()) {
    std::fill(out, out + n, 0);
  } else if (set.size() <= 8) {
    for (int64_t i = 0; i < n; ++i) {
      C v = static_cast<C>(Load<T>(data, i));
      uint8_t m = 0;
      for (C s : set) m |= static_cast<uint8_t>(v == s);
      out[i] = m;
    }
  } else {
    for (int64_t i = 0; i < n; ++i) {
      out[i] = std::binary_search(set.begin(), set.end(), static_cast<C>(Load<T>(data, i)));
    }
  }
}

const uint8_t* Bytes(const std::vector<int64_t>& v) { return reinterpret_cast<const uint8_t*>(v.data()); }
const uint8_t* Bytes(const std::vector<double>& v) { return reinterpret_cast<const uint8_t*>(v.data()); }

// Nulls: value &= valid, and the result is valid where the input was.
void ApplyValid(const std::vector<uint8_t>& valid, int64_t n, BoolVec* out) {
  if (valid.empty()) {
    out->valid.clear();
    return;
  }
  out->valid.assign(valid.begin(), valid.begin() + n);
  uint8_t* __restrict v = out->value.data();
  const uint8_t* __restrict m = out->valid.data();
  for (int64_t i = 0; i < n; ++i) v[i] &= m[i];
}

// Rows without a value (missing key, index out of range) take `missing`.
void ApplyPresent(const std::vector<uint8_t>& present, uint8_t missing, int64_t n, BoolVec* out) {
  if (present.empty()) return;
  uint8_t* __restrict v = out->value.data();
  const uint8_t* __restrict p = present.data();
  for (int64_t i = 0; i < n; ++i) v[i] = p[i] ? v[i] : missing;
}

std::vector<uint8_t> AndMasks(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b, int64_t n) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  std::vector<uint8_t> r(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) r[i] = a[i] & b[i];
  return r;
}

void CopyValid(const Column& col, int64_t n, std::vector<uint8_t>* valid) {
  if (col.valid.empty()) {
    valid->clear();
  } else {
    valid->assign(col.valid.begin(), col.valid.begin() + n);
  }
}

bool IsNullAt(const std::vector<uint8_t>& valid, int64_t i) { return !valid.empty() && valid[i] == 0; }

// Whether an Array row equals the literal array `lit`.
bool ArrayRowEquals(DataType elem, std::string_view row, const Literal& lit) {
  const auto& want = lit.as_array();
  size_t k = 0;
  bool ok = true;
  ArrayReader(elem, row).ForEach([&](const ElemRef& e) {
    if (k >= want.size() || !ElemEquals(e, want[k])) {
      ok = false;
      return false;
    }
    ++k;
    return true;
  });
  return ok && k == want.size();
}

}  // namespace

// ------------------------------------------------------------ EvalContext

Result<const Column*> EvalContext::GetColumn(FieldId id, DataType type, std::string_view name) const {
  const Column* col = batch_.Find(id);
  if (!col) {
    return Internal("filter reads field {} (id {}) but the batch has no column for it", name, id.value);
  }
  if (col->type != type) {
    return Internal("column for field {} (id {}) has type {}, the filter expects {}", name, id.value,
                    DataTypeName(col->type), DataTypeName(type));
  }
  const auto n = static_cast<size_t>(rows_);
  bool ok = col->num_rows >= rows_ && (col->valid.empty() || col->valid.size() >= n);
  if (ok && col->is_fixed()) ok = col->fixed.size() >= n * col->row_bytes;
  if (ok && !col->is_fixed()) ok = col->offsets.size() >= n + 1 && col->offsets[n] <= col->bytes.size();
  if (!ok) return Internal("column for field {} (id {}) holds fewer than {} rows", name, id.value, rows_);
  return col;
}

Result<const JsonColumn*> EvalContext::GetJson(FieldId id, const std::vector<std::string>& path,
                                               std::string_view name) {
  auto key = std::make_pair(id.value, path);
  auto it = json_.find(key);
  if (it != json_.end()) return it->second.get();
  KITE_ASSIGN_OR_RETURN(const Column* col, GetColumn(id, DataType::kJson, name));
  auto jc = std::make_unique<JsonColumn>(JsonColumn::Extract(*col, rows_, path));
  const JsonColumn* p = jc.get();
  json_.emplace(std::move(key), std::move(jc));
  return p;
}

// -------------------------------------------------------------- operands

namespace {
VKind KindOfType(DataType t) {
  if (t == DataType::kBool) return VKind::kBool;
  if (IsIntegerType(t) || t == DataType::kTimestamptz) return VKind::kInt;
  if (IsFloatingType(t)) return VKind::kDouble;
  return VKind::kString;
}
}  // namespace

FieldRef::FieldRef(FieldId id, DataType type, std::string name)
    : ValueNode(KindOfType(type)), id_(id), type_(type), name_(std::move(name)) {}

Status FieldRef::Eval(EvalContext& ctx, ValueVec* out) const {
  KITE_ASSIGN_OR_RETURN(const Column* col, ctx.GetColumn(id_, type_, name_));
  const int64_t n = ctx.rows();
  const uint8_t* d = col->fixed.data();
  out->kind = kind();
  switch (type_) {
    case DataType::kBool:
      out->bools.resize(n);
      for (int64_t i = 0; i < n; ++i) out->bools[i] = d[i] != 0;
      break;
    case DataType::kInt8:
      out->ints.resize(n);
      for (int64_t i = 0; i < n; ++i) out->ints[i] = Load<int8_t>(d, i);
      break;
    case DataType::kInt16:
      out->ints.resize(n);
      for (int64_t i = 0; i < n; ++i) out->ints[i] = Load<int16_t>(d, i);
      break;
    case DataType::kInt32:
      out->ints.resize(n);
      for (int64_t i = 0; i < n; ++i) out->ints[i] = Load<int32_t>(d, i);
      break;
    case DataType::kInt64:
    case DataType::kTimestamptz:  // UTC microseconds
      out->ints.resize(n);
      if (n > 0) std::memcpy(out->ints.data(), d, n * sizeof(int64_t));
      break;
    case DataType::kFloat:
      out->dbls.resize(n);
      for (int64_t i = 0; i < n; ++i) out->dbls[i] = Load<float>(d, i);
      break;
    case DataType::kDouble:
      out->dbls.resize(n);
      if (n > 0) std::memcpy(out->dbls.data(), d, n * sizeof(double));
      break;
    default:
      out->strs.resize(n);
      for (int64_t i = 0; i < n; ++i) out->strs[i] = col->GetBytes(i);
      break;
  }
  CopyValid(*col, n, &out->valid);
  return Status::OK();
}

Status JsonRef::Eval(EvalContext& ctx, ValueVec* out) const {
  KITE_ASSIGN_OR_RETURN(out->json, ctx.GetJson(id_, path_, display_));
  out->kind = VKind::kJson;
  out->valid = out->json->valid();
  return Status::OK();
}

Status ArrayRef::Eval(EvalContext& ctx, ValueVec* out) const {
  KITE_ASSIGN_OR_RETURN(out->column, ctx.GetColumn(id_, DataType::kArray, name_));
  out->kind = VKind::kArray;
  out->elem = elem_;
  CopyValid(*out->column, ctx.rows(), &out->valid);
  return Status::OK();
}

ArrayElementRef::ArrayElementRef(FieldId id, DataType elem, int64_t index, std::string display)
    : ValueNode(KindOfType(elem)), id_(id), elem_(elem), index_(index), display_(std::move(display)) {}

Status ArrayElementRef::Eval(EvalContext& ctx, ValueVec* out) const {
  KITE_ASSIGN_OR_RETURN(const Column* col, ctx.GetColumn(id_, DataType::kArray, display_));
  const int64_t n = ctx.rows();
  out->kind = kind();
  switch (kind()) {
    case VKind::kBool: out->bools.assign(n, 0); break;
    case VKind::kInt: out->ints.assign(n, 0); break;
    case VKind::kDouble: out->dbls.assign(n, 0); break;
    default: out->strs.assign(n, {}); break;
  }
  out->present.assign(n, 0);
  for (int64_t i = 0; i < n; ++i) {
    if (col->IsNull(i)) continue;
    ElemRef e;
    if (!ArrayReader(elem_, col->GetBytes(i)).At(index_, &e)) continue;
    out->present[i] = 1;
    switch (kind()) {
      case VKind::kBool: out->bools[i] = e.b; break;
      case VKind::kInt: out->ints[i] = e.i; break;
      case VKind::kDouble: out->dbls[i] = e.d; break;
      default: out->strs[i] = e.s; break;
    }
  }
  CopyValid(*col, n, &out->valid);
  return Status::OK();
}

Status ArrayLength::Eval(EvalContext& ctx, ValueVec* out) const {
  ValueVec v;
  KITE_RETURN_IF_ERROR(operand_->Eval(ctx, &v));
  const int64_t n = ctx.rows();
  out->kind = VKind::kInt;
  out->ints.assign(n, 0);
  out->valid = std::move(v.valid);
  if (v.kind == VKind::kArray) {
    for (int64_t i = 0; i < n; ++i) {
      if (!v.column->IsNull(i)) out->ints[i] = static_cast<int64_t>(ArrayReader(v.elem, v.column->GetBytes(i)).Size());
    }
  } else {
    out->present.assign(n, 0);
    for (int64_t i = 0; i < n; ++i) {
      const JNode& node = v.json->Row(i);
      if (node.type == JType::kArray) {
        out->ints[i] = node.count;
        out->present[i] = 1;
      }
    }
  }
  return Status::OK();
}

Status ConstValue::Eval(EvalContext&, ValueVec* out) const {
  out->kind = kind();
  out->scalar = true;
  if (v_.is_int()) {
    out->ints.assign(1, v_.as_int());
  } else {
    out->dbls.assign(1, v_.as_number());
  }
  return Status::OK();
}

namespace {

// Converts a JSON or integer operand to the numeric kind `target` in place.
// JSON rows that are not numbers (or, for kInt, not integral) have no value.
void ToNumeric(VKind target, int64_t n, ValueVec* v) {
  if (v->kind == target) return;
  if (v->kind == VKind::kInt && target == VKind::kDouble) {
    v->dbls.resize(v->ints.size());
    for (size_t i = 0; i < v->ints.size(); ++i) v->dbls[i] = static_cast<double>(v->ints[i]);
    v->kind = VKind::kDouble;
    return;
  }
  if (v->kind != VKind::kJson) return;  // the binder admits no other conversion
  const JsonColumn& j = *v->json;
  v->present.assign(n, 0);
  if (target == VKind::kInt) {
    v->ints.assign(n, 0);
    for (int64_t i = 0; i < n; ++i) {
      const JNode& node = j.Row(i);
      if (node.type == JType::kInt) {
        v->ints[i] = node.u.i;
        v->present[i] = 1;
      } else if (node.type == JType::kDouble && std::trunc(node.u.d) == node.u.d &&
                 std::fabs(node.u.d) < 9.2e18) {
        v->ints[i] = static_cast<int64_t>(node.u.d);
        v->present[i] = 1;
      }
    }
  } else {
    v->dbls.assign(n, 0);
    for (int64_t i = 0; i < n; ++i) {
      const JNode& node = j.Row(i);
      if (node.type == JType::kInt) {
        v->dbls[i] = static_cast<double>(node.u.i);
        v->present[i] = 1;
      } else if (node.type == JType::kDouble) {
        v->dbls[i] = node.u.d;
        v->present[i] = 1;
      }
    }
  }
  v->kind = target;
}

template <typename T>
const T& At(const std::vector<T>& v, bool scalar, int64_t i) {
  return v[scalar ? 0 : i];
}

}  // namespace

Status Arith::Eval(EvalContext& ctx, ValueVec* out) const {
  ValueVec a, b;
  KITE_RETURN_IF_ERROR(lhs_->Eval(ctx, &a));
  KITE_RETURN_IF_ERROR(rhs_->Eval(ctx, &b));
  const int64_t n = ctx.rows();
  ToNumeric(kind(), n, &a);
  ToNumeric(kind(), n, &b);
  out->kind = kind();
  out->valid = AndMasks(a.valid, b.valid, n);
  out->present = AndMasks(a.present, b.present, n);
  if (kind() == VKind::kInt) {
    out->ints.assign(n, 0);
    bool div = op_ == ArithOp::kDiv || op_ == ArithOp::kMod;
    if (div && out->present.empty()) out->present.assign(n, 1);
    for (int64_t i = 0; i < n; ++i) {
      int64_t x = At(a.ints, a.scalar, i), y = At(b.ints, b.scalar, i);
      auto ux = static_cast<uint64_t>(x), uy = static_cast<uint64_t>(y);
      switch (op_) {
        case ArithOp::kAdd: out->ints[i] = static_cast<int64_t>(ux + uy); break;
        case ArithOp::kSub: out->ints[i] = static_cast<int64_t>(ux - uy); break;
        case ArithOp::kMul: out->ints[i] = static_cast<int64_t>(ux * uy); break;
        case ArithOp::kDiv:
        case ArithOp::kMod:
          if (y == 0 || (x == INT64_MIN && y == -1)) {
            out->present[i] = 0;
          } else {
            out->ints[i] = op_ == ArithOp::kDiv ? x / y : x % y;
          }
          break;
        case ArithOp::kPow: return Internal("integer ** is not evaluated as an integer");  // binder: always double
      }
    }
    return Status::OK();
  }
  out->dbls.assign(n, 0);
  double* __restrict r = out->dbls.data();
  auto run = [&](auto f) {
    if (!a.scalar && !b.scalar) {
      for (int64_t i = 0; i < n; ++i) r[i] = f(a.dbls[i], b.dbls[i]);
    } else if (!a.scalar) {
      double y = b.dbls[0];
      for (int64_t i = 0; i < n; ++i) r[i] = f(a.dbls[i], y);
    } else {
      double x = a.dbls[0];
      for (int64_t i = 0; i < n; ++i) r[i] = f(x, b.dbls[i]);
    }
  };
  switch (op_) {
    case ArithOp::kAdd: run([](double x, double y) { return x + y; }); break;
    case ArithOp::kSub: run([](double x, double y) { return x - y; }); break;
    case ArithOp::kMul: run([](double x, double y) { return x * y; }); break;
    case ArithOp::kDiv: run([](double x, double y) { return x / y; }); break;
    case ArithOp::kMod: run([](double x, double y) { return std::fmod(x, y); }); break;
    case ArithOp::kPow: run([](double x, double y) { return std::pow(x, y); }); break;
  }
  return Status::OK();
}

std::string Arith::ToString() const {
  return fmt::format("({} {} {})", lhs_->ToString(), ArithOpName(op_), rhs_->ToString());
}

// ------------------------------------------------------------ predicates

Status ConstPred::Eval(EvalContext& ctx, BoolVec* out) const {
  out->value.assign(ctx.rows(), v_ ? 1 : 0);
  out->valid.clear();
  return Status::OK();
}

BoolValuePred::BoolValuePred(std::unique_ptr<ValueNode> operand)
    : PredNode(PredKind::kBoolValue), operand_(std::move(operand)) {
  leaf_ = LeafForBoolValue(*operand_);
}

Status BoolValuePred::Eval(EvalContext& ctx, BoolVec* out) const {
  ValueVec v;
  KITE_RETURN_IF_ERROR(operand_->Eval(ctx, &v));
  const int64_t n = ctx.rows();
  out->value = std::move(v.bools);
  ApplyPresent(v.present, 0, n, out);
  ApplyValid(v.valid, n, out);
  return Status::OK();
}

IntCmp NormalizeIntCmp(CmpOp op, const Literal& c) {
  IntCmp r;
  r.op = op;
  if (c.is_int()) {
    r.c = c.as_int();
    return r;
  }
  double d = c.as_number();
  auto all = [&](bool v) {
    r.mode = v ? IntCmp::Mode::kAllTrue : IntCmp::Mode::kAllFalse;
    return r;
  };
  constexpr double kTwo63 = 9223372036854775808.0;
  if (std::isnan(d)) return all(op == CmpOp::kNe);
  if (d >= kTwo63) return all(op == CmpOp::kLt || op == CmpOp::kLe || op == CmpOp::kNe);
  if (d < -kTwo63) return all(op == CmpOp::kGt || op == CmpOp::kGe || op == CmpOp::kNe);
  if (std::trunc(d) == d) {
    r.c = static_cast<int64_t>(d);
    return r;
  }
  switch (op) {
    case CmpOp::kEq: return all(false);
    case CmpOp::kNe: return all(true);
    case CmpOp::kGt:
    case CmpOp::kGe:
      r.op = CmpOp::kGe;
      r.c = static_cast<int64_t>(std::ceil(d));
      return r;
    default:
      r.op = CmpOp::kLe;
      r.c = static_cast<int64_t>(std::floor(d));
      return r;
  }
}

CompareConstPred::CompareConstPred(std::unique_ptr<ValueNode> operand, CmpOp op, Literal c, bool float32)
    : PredNode(PredKind::kCompareConst), operand_(std::move(operand)), op_(op), c_(std::move(c)) {
  field_ = dynamic_cast<const FieldRef*>(operand_.get());
  switch (operand_->kind()) {
    case VKind::kInt: int_ = NormalizeIntCmp(op_, c_); break;
    case VKind::kDouble:
      dbl_ = c_.as_number();
      if (float32) dbl_ = ToFloat32(dbl_);
      break;
    case VKind::kBool: bool_ = c_.as_bool(); break;
    default: break;
  }
  leaf_ = LeafForCompare(*operand_, op_, c_, int_, dbl_);
}

namespace {

template <typename T>
void CmpIntRaw(const uint8_t* data, int64_t n, const IntCmp& ic, uint8_t* out) {
  CmpRaw<T, int64_t>(data, n, ic.op, ic.c, out);
}

void CmpStrings(const std::vector<std::string_view>& s, int64_t n, CmpOp op, std::string_view c, uint8_t* out) {
  WithOp(op, [&](auto o) {
    for (int64_t i = 0; i < n; ++i) out[i] = Apply<decltype(o)::value>(s[i], c);
  });
}

bool IsStringField(const FieldRef* f) {
  return f != nullptr && (f->type() == DataType::kVarChar || f->type() == DataType::kString);
}

// out[i] = f(string of row i) straight from a variable-width column.
template <typename F>
void MapStrings(const Column& col, int64_t n, uint8_t* out, F&& f) {
  const char* base = col.bytes.data();
  const uint64_t* off = col.offsets.data();
  for (int64_t i = 0; i < n; ++i) out[i] = f(std::string_view(base + off[i], off[i + 1] - off[i]));
}

}  // namespace

Status CompareConstPred::Eval(EvalContext& ctx, BoolVec* out) const {
  const int64_t n = ctx.rows();
  out->value.resize(n);
  uint8_t* res = out->value.data();
  if (operand_->kind() == VKind::kInt && int_.mode != IntCmp::Mode::kCompare) {
    // Decided by the constant alone; only validity depends on the rows.
    ValueVec v;
    KITE_RETURN_IF_ERROR(operand_->Eval(ctx, &v));
    std::fill(res, res + n, int_.mode == IntCmp::Mode::kAllTrue ? 1 : 0);
    ApplyPresent(v.present, op_ == CmpOp::kNe, n, out);
    ApplyValid(v.valid, n, out);
    return Status::OK();
  }
  if (field_ != nullptr && field_->type() != DataType::kVarChar && field_->type() != DataType::kString &&
      field_->type() != DataType::kText) {
    // Fast path: typed loop straight over the column's bytes.
    KITE_ASSIGN_OR_RETURN(const Column* col, ctx.GetColumn(field_->id(), field_->type(), field_->name()));
    const uint8_t* d = col->fixed.data();
    switch (field_->type()) {
      case DataType::kBool: CmpRaw<uint8_t, int64_t>(d, n, op_, bool_ ? 1 : 0, res); break;
      case DataType::kInt8: CmpIntRaw<int8_t>(d, n, int_, res); break;
      case DataType::kInt16: CmpIntRaw<int16_t>(d, n, int_, res); break;
      case DataType::kInt32: CmpIntRaw<int32_t>(d, n, int_, res); break;
      case DataType::kInt64:
      case DataType::kTimestamptz: CmpIntRaw<int64_t>(d, n, int_, res); break;
      case DataType::kFloat: CmpRaw<float, float>(d, n, op_, ToFloat32(dbl_), res); break;
      default: CmpRaw<double, double>(d, n, op_, dbl_, res); break;
    }
    ApplyValid(col->valid, n, out);
    return Status::OK();
  }
  if (IsStringField(field_)) {
    KITE_ASSIGN_OR_RETURN(const Column* col, ctx.GetColumn(field_->id(), field_->type(), field_->name()));
    std::string_view c = c_.as_string();
    WithOp(op_, [&](auto o) {
      MapStrings(*col, n, res, [&](std::string_view s) { return Apply<decltype(o)::value>(s, c); });
    });
    ApplyValid(col->valid, n, out);
    return Status::OK();
  }
  ValueVec v;
  KITE_RETURN_IF_ERROR(operand_->Eval(ctx, &v));
  switch (v.kind) {
    case VKind::kInt: CmpRaw<int64_t, int64_t>(Bytes(v.ints), n, int_.op, int_.c, res); break;
    case VKind::kDouble: CmpRaw<double, double>(Bytes(v.dbls), n, op_, dbl_, res); break;
    case VKind::kBool: CmpRaw<uint8_t, int64_t>(v.bools.data(), n, op_, bool_ ? 1 : 0, res); break;
    case VKind::kString: CmpStrings(v.strs, n, op_, c_.as_string(), res); break;
    case VKind::kJson: {
      const JsonColumn& j = *v.json;
      if (op_ == CmpOp::kEq || op_ == CmpOp::kNe) {
        uint8_t eq_value = op_ == CmpOp::kEq;
        for (int64_t i = 0; i < n; ++i) res[i] = JsonEquals(j, j.Row(i), c_) ? eq_value : !eq_value;
      } else {
        for (int64_t i = 0; i < n; ++i) {
          auto ord = CompareJson(j, j.Row(i), c_);
          res[i] = ord && ApplyOrd(op_, *ord);
        }
      }
      break;
    }
    case VKind::kArray: {
      uint8_t eq_value = op_ == CmpOp::kEq;
      for (int64_t i = 0; i < n; ++i) {
        res[i] = ArrayRowEquals(v.elem, v.column->GetBytes(i), c_) ? eq_value : !eq_value;
      }
      break;
    }
  }
  ApplyPresent(v.present, op_ == CmpOp::kNe, n, out);
  ApplyValid(v.valid, n, out);
  return Status::OK();
}

std::string CompareConstPred::ToString() const {
  return fmt::format("{} {} {}", operand_->ToString(), CmpOpName(op_), c_.ToString());
}

RangeConstPred::RangeConstPred(std::unique_ptr<ValueNode> operand, Literal lo, bool lo_inclusive, Literal hi,
                               bool hi_inclusive, bool float32)
    : PredNode(PredKind::kRangeConst),
      operand_(std::move(operand)),
      lo_(std::move(lo)),
      hi_(std::move(hi)),
      lo_incl_(lo_inclusive),
      hi_incl_(hi_inclusive) {
  field_ = dynamic_cast<const FieldRef*>(operand_.get());
  if (operand_->kind() == VKind::kInt) {
    IntCmp l = NormalizeIntCmp(lo_incl_ ? CmpOp::kGe : CmpOp::kGt, lo_);
    IntCmp h = NormalizeIntCmp(hi_incl_ ? CmpOp::kLe : CmpOp::kLt, hi_);
    ilo_ = INT64_MIN;
    ihi_ = INT64_MAX;
    if (l.mode == IntCmp::Mode::kAllFalse || h.mode == IntCmp::Mode::kAllFalse) int_empty_ = true;
    if (l.mode == IntCmp::Mode::kCompare) {
      if (l.op == CmpOp::kGt) {
        if (l.c == INT64_MAX) int_empty_ = true;
        else ilo_ = l.c + 1;
      } else {
        ilo_ = l.c;
      }
    }
    if (h.mode == IntCmp::Mode::kCompare) {
      if (h.op == CmpOp::kLt) {
        if (h.c == INT64_MIN) int_empty_ = true;
        else ihi_ = h.c - 1;
      } else {
        ihi_ = h.c;
      }
    }
    if (ilo_ > ihi_) int_empty_ = true;
  } else if (operand_->kind() == VKind::kDouble) {
    dlo_ = lo_.as_number();
    dhi_ = hi_.as_number();
    if (float32) {
      dlo_ = ToFloat32(dlo_);
      dhi_ = ToFloat32(dhi_);
    }
  }
  RangeLeafArgs args{lo_, lo_incl_, hi_, hi_incl_, int_empty_, ilo_, ihi_, dlo_, dhi_};
  leaf_ = LeafForRange(*operand_, args);
}

Status RangeConstPred::Eval(EvalContext& ctx, BoolVec* out) const {
  const int64_t n = ctx.rows();
  out->value.resize(n);
  uint8_t* res = out->value.data();
  if (field_ != nullptr && (IsIntegerType(field_->type()) || IsFloatingType(field_->type())) && !int_empty_) {
    KITE_ASSIGN_OR_RETURN(const Column* col, ctx.GetColumn(field_->id(), field_->type(), field_->name()));
    const uint8_t* d = col->fixed.data();
    switch (field_->type()) {
      case DataType::kInt8: RangeRaw<int8_t, int64_t>(d, n, ilo_, true, ihi_, true, res); break;
      case DataType::kInt16: RangeRaw<int16_t, int64_t>(d, n, ilo_, true, ihi_, true, res); break;
      case DataType::kInt32: RangeRaw<int32_t, int64_t>(d, n, ilo_, true, ihi_, true, res); break;
      case DataType::kInt64: RangeRaw<int64_t, int64_t>(d, n, ilo_, true, ihi_, true, res); break;
      case DataType::kFloat:
        RangeRaw<float, float>(d, n, ToFloat32(dlo_), lo_incl_, ToFloat32(dhi_), hi_incl_, res);
        break;
      default: RangeRaw<double, double>(d, n, dlo_, lo_incl_, dhi_, hi_incl_, res); break;
    }
    ApplyValid(col->valid, n, out);
    return Status::OK();
  }
  ValueVec v;
  KITE_RETURN_IF_ERROR(operand_->Eval(ctx, &v));
  switch (v.kind) {
    case VKind::kInt:
      if (int_empty_) {
        std::fill(res, res + n, 0);
      } else {
        RangeRaw<int64_t, int64_t>(Bytes(v.ints), n, ilo_, true, ihi_, true, res);
      }
      break;
    case VKind::kDouble: RangeRaw<double, double>(Bytes(v.dbls), n, dlo_, lo_incl_, dhi_, hi_incl_, res); break;
    case VKind::kString: {
      std::string_view lo = lo_.as_string(), hi = hi_.as_string();
      for (int64_t i = 0; i < n; ++i) {
        std::string_view s = v.strs[i];
        res[i] = (lo_incl_ ? s >= lo : s > lo) && (hi_incl_ ? s <= hi : s < hi);
      }
      break;
    }
    case VKind::kJson: {
      const JsonColumn& j = *v.json;
      for (int64_t i = 0; i < n; ++i) {
        const JNode& node = j.Row(i);
        auto a = CompareJson(j, node, lo_);
        auto b = a ? CompareJson(j, node, hi_) : std::nullopt;
        res[i] = a && b && (lo_incl_ ? *a >= 0 : *a > 0) && (hi_incl_ ? *b <= 0 : *b < 0);
      }
      break;
    }
    default: std::fill(res, res + n, 0); break;  // the binder admits no other kind
  }
  ApplyPresent(v.present, 0, n, out);
  ApplyValid(v.valid, n, out);
  return Status::OK();
}

std::string RangeConstPred::ToString() const {
  return fmt::format("{} {} {} {} {}", lo_.ToString(), lo_incl_ ? "<=" : "<", operand_->ToString(),
                     hi_incl_ ? "<=" : "<", hi_.ToString());
}

Status ComparePred::Eval(EvalContext& ctx, BoolVec* out) const {
  ValueVec a, b;
  KITE_RETURN_IF_ERROR(lhs_->Eval(ctx, &a));
  KITE_RETURN_IF_ERROR(rhs_->Eval(ctx, &b));
  const int64_t n = ctx.rows();
  out->value.resize(n);
  uint8_t* res = out->value.data();
  auto numeric = [&](auto x, auto y) {  // x(i), y(i) accessors
    WithOp(op_, [&](auto o) {
      for (int64_t i = 0; i < n; ++i) {
        auto c = CompareNumbers(x(i), y(i));
        if constexpr (std::is_same_v<decltype(c), int>) {
          res[i] = ApplyOrd(o(), c);
        } else {
          res[i] = c ? ApplyOrd(o(), *c) : (o() == CmpOp::kNe);
        }
      }
    });
  };
  auto ints = [](const ValueVec& v) { return [&v](int64_t i) { return At(v.ints, v.scalar, i); }; };
  auto dbls = [](const ValueVec& v) { return [&v](int64_t i) { return At(v.dbls, v.scalar, i); }; };
  if (a.kind == VKind::kInt && b.kind == VKind::kInt) {
    numeric(ints(a), ints(b));
  } else if (a.kind == VKind::kInt && b.kind == VKind::kDouble) {
    numeric(ints(a), dbls(b));
  } else if (a.kind == VKind::kDouble && b.kind == VKind::kInt) {
    numeric(dbls(a), ints(b));
  } else if (a.kind == VKind::kDouble && b.kind == VKind::kDouble) {
    numeric(dbls(a), dbls(b));
  } else if (a.kind == VKind::kString && b.kind == VKind::kString) {
    WithOp(op_, [&](auto o) {
      for (int64_t i = 0; i < n; ++i) res[i] = Apply<decltype(o)::value>(a.strs[i], b.strs[i]);
    });
  } else if (a.kind == VKind::kBool && b.kind == VKind::kBool) {
    WithOp(op_, [&](auto o) {
      for (int64_t i = 0; i < n; ++i) res[i] = Apply<decltype(o)::value>(a.bools[i], b.bools[i]);
    });
  } else {
    return Internal("cannot compare operands of {} and {}", lhs_->ToString(), rhs_->ToString());
  }
  ApplyPresent(AndMasks(a.present, b.present, n), op_ == CmpOp::kNe, n, out);
  ApplyValid(AndMasks(a.valid, b.valid, n), n, out);
  return Status::OK();
}

std::string ComparePred::ToString() const {
  return fmt::format("{} {} {}", lhs_->ToString(), CmpOpName(op_), rhs_->ToString());
}

InPred::InPred(std::unique_ptr<ValueNode> operand, std::vector<Literal> values, bool float32)
    : PredNode(PredKind::kIn), operand_(std::move(operand)), values_(std::move(values)) {
  field_ = dynamic_cast<const FieldRef*>(operand_.get());
  for (const Literal& v : values_) {
    switch (operand_->kind()) {
      case VKind::kInt:
        if (v.is_int()) {
          ints_.push_back(v.as_int());
        } else if (v.is_double()) {
          IntCmp ic = NormalizeIntCmp(CmpOp::kEq, v);
          if (ic.mode == IntCmp::Mode::kCompare) ints_.push_back(ic.c);
        }
        break;
      case VKind::kDouble:
        if (v.is_number() && !std::isnan(v.as_number())) {
          double d = v.as_number();
          dbls_.push_back(float32 ? ToFloat32(d) : d);
        }
        break;
      case VKind::kString:
        if (v.is_string()) strs_.insert(v.as_string());
        break;
      case VKind::kBool:
        if (v.is_bool()) (v.as_bool() ? has_true_ : has_false_) = true;
        break;
      default: break;
    }
  }
  std::sort(ints_.begin(), ints_.end());
  ints_.erase(std::unique(ints_.begin(), ints_.end()), ints_.end());
  std::sort(dbls_.begin(), dbls_.end());
  dbls_.erase(std::unique(dbls_.begin(), dbls_.end()), dbls_.end());
  std::vector<std::string> strs(strs_.begin(), strs_.end());
  leaf_ = operand_->kind() == VKind::kJson ? LeafForJsonIn(*operand_, values_)
                                            : LeafForIn(*operand_, ints_, dbls_, std::move(strs), has_true_, has_false_);
}

Status InPred::Eval(EvalContext& ctx, BoolVec* out) const {
  const int64_t n = ctx.rows();
  out->value.resize(n);
  uint8_t* res = out->value.data();
  if (field_ != nullptr && (IsIntegerType(field_->type()) || IsFloatingType(field_->type()))) {
    KITE_ASSIGN_OR_RETURN(const Column* col, ctx.GetColumn(field_->id(), field_->type(), field_->name()));
    const uint8_t* d = col->fixed.data();
    switch (field_->type()) {
      case DataType::kInt8: InRaw<int8_t, int64_t>(d, n, ints_, res); break;
      case DataType::kInt16: InRaw<int16_t, int64_t>(d, n, ints_, res); break;
      case DataType::kInt32: InRaw<int32_t, int64_t>(d, n, ints_, res); break;
      case DataType::kInt64: InRaw<int64_t, int64_t>(d, n, ints_, res); break;
      case DataType::kFloat: InRaw<float, double>(d, n, dbls_, res); break;
      default: InRaw<double, double>(d, n, dbls_, res); break;
    }
    ApplyValid(col->valid, n, out);
    return Status::OK();
  }
  if (IsStringField(field_)) {
    KITE_ASSIGN_OR_RETURN(const Column* col, ctx.GetColumn(field_->id(), field_->type(), field_->name()));
    MapStrings(*col, n, res, [&](std::string_view s) { return strs_.count(s) > 0; });
    ApplyValid(col->valid, n, out);
    return Status::OK();
  }
  ValueVec v;
  KITE_RETURN_IF_ERROR(operand_->Eval(ctx, &v));
  switch (v.kind) {
    case VKind::kInt: InRaw<int64_t, int64_t>(Bytes(v.ints), n, ints_, res); break;
    case VKind::kDouble: InRaw<double, double>(Bytes(v.dbls), n, dbls_, res); break;
    case VKind::kBool:
      for (int64_t i = 0; i < n; ++i) res[i] = v.bools[i] ? has_true_ : has_false_;
      break;
    case VKind::kString:
      for (int64_t i = 0; i < n; ++i) res[i] = !strs_.empty() && strs_.count(v.strs[i]) > 0;
      break;
    case VKind::kJson: {
      const JsonColumn& j = *v.json;
      for (int64_t i = 0; i < n; ++i) {
        const JNode& node = j.Row(i);
        uint8_t m = 0;
        for (const Literal& lit : values_) {
          if (JsonEquals(j, node, lit)) {
            m = 1;
            break;
          }
        }
        res[i] = m;
      }
      break;
    }
    default: std::fill(res, res + n, 0); break;
  }
  ApplyPresent(v.present, 0, n, out);
  ApplyValid(v.valid, n, out);
  return Status::OK();
}

std::string InPred::ToString() const {
  std::string s = operand_->ToString() + " in [";
  for (size_t i = 0; i < values_.size(); ++i) s += (i ? ", " : "") + values_[i].ToString();
  return s + "]";
}

LikePred::LikePred(std::unique_ptr<ValueNode> operand, std::string pattern)
    : PredNode(PredKind::kLike), operand_(std::move(operand)), pattern_(pattern) {
  leaf_ = LeafForLike(*operand_, pattern_);
}

Status LikePred::Eval(EvalContext& ctx, BoolVec* out) const {
  const auto* field = dynamic_cast<const FieldRef*>(operand_.get());
  if (IsStringField(field)) {
    KITE_ASSIGN_OR_RETURN(const Column* col, ctx.GetColumn(field->id(), field->type(), field->name()));
    const int64_t n = ctx.rows();
    out->value.resize(n);
    MapStrings(*col, n, out->value.data(), [&](std::string_view s) { return pattern_.Match(s); });
    ApplyValid(col->valid, n, out);
    return Status::OK();
  }
  ValueVec v;
  KITE_RETURN_IF_ERROR(operand_->Eval(ctx, &v));
  const int64_t n = ctx.rows();
  out->value.resize(n);
  uint8_t* res = out->value.data();
  if (v.kind == VKind::kString) {
    for (int64_t i = 0; i < n; ++i) res[i] = pattern_.Match(v.strs[i]);
  } else if (v.kind == VKind::kJson) {
    const JsonColumn& j = *v.json;
    for (int64_t i = 0; i < n; ++i) {
      const JNode& node = j.Row(i);
      res[i] = node.type == JType::kString && pattern_.Match(j.Str(node));
    }
  } else {
    std::fill(res, res + n, 0);
  }
  ApplyPresent(v.present, 0, n, out);
  ApplyValid(v.valid, n, out);
  return Status::OK();
}

std::string LikePred::ToString() const {
  return fmt::format("{} like {}", operand_->ToString(), Literal(pattern_.source()).ToString());
}

NullCheckPred::NullCheckPred(std::unique_ptr<ValueNode> operand, bool is_null, bool json_key)
    : PredNode(PredKind::kNullCheck), operand_(std::move(operand)), is_null_(is_null), json_key_(json_key) {
  if (!json_key_) leaf_ = LeafForNullCheck(*operand_, is_null_);
}

Status NullCheckPred::Eval(EvalContext& ctx, BoolVec* out) const {
  ValueVec v;
  KITE_RETURN_IF_ERROR(operand_->Eval(ctx, &v));
  const int64_t n = ctx.rows();
  out->value.resize(n);
  out->valid.clear();
  uint8_t* res = out->value.data();
  const uint8_t want = is_null_ ? 1 : 0;
  if (json_key_) {
    const JsonColumn& j = *v.json;
    for (int64_t i = 0; i < n; ++i) {
      JType t = j.Row(i).type;
      bool null = j.IsNull(i) || t == JType::kMissing || t == JType::kNull;
      res[i] = null ? want : !want;
    }
    return Status::OK();
  }
  for (int64_t i = 0; i < n; ++i) res[i] = IsNullAt(v.valid, i) ? want : !want;
  return Status::OK();
}

std::string NullCheckPred::ToString() const {
  return operand_->ToString() + (is_null_ ? " is null" : " is not null");
}

Status ExistsPred::Eval(EvalContext& ctx, BoolVec* out) const {
  ValueVec v;
  KITE_RETURN_IF_ERROR(operand_->Eval(ctx, &v));
  const int64_t n = ctx.rows();
  out->value.resize(n);
  out->valid.clear();
  const JsonColumn& j = *v.json;
  for (int64_t i = 0; i < n; ++i) out->value[i] = !j.IsNull(i) && j.Row(i).type != JType::kMissing;
  return Status::OK();
}

ContainsPred::ContainsPred(std::unique_ptr<ValueNode> operand, Mode mode, std::vector<Literal> values)
    : PredNode(PredKind::kContains), operand_(std::move(operand)), mode_(mode), values_(std::move(values)) {
  leaf_ = LeafForContains(*operand_, mode_ == Mode::kAll, values_);
}

Status ContainsPred::Eval(EvalContext& ctx, BoolVec* out) const {
  ValueVec v;
  KITE_RETURN_IF_ERROR(operand_->Eval(ctx, &v));
  const int64_t n = ctx.rows();
  out->value.assign(n, 0);
  uint8_t* res = out->value.data();
  // found[k]: whether values_[k] occurs in the row.
  std::vector<uint8_t> found(values_.size());
  auto decide = [&]() -> uint8_t {
    if (mode_ == Mode::kAll) {
      return std::all_of(found.begin(), found.end(), [](uint8_t f) { return f != 0; });
    }
    return std::any_of(found.begin(), found.end(), [](uint8_t f) { return f != 0; });
  };
  for (int64_t i = 0; i < n; ++i) {
    if (IsNullAt(v.valid, i)) continue;
    std::fill(found.begin(), found.end(), 0);
    if (v.kind == VKind::kArray) {
      ArrayReader(v.elem, v.column->GetBytes(i)).ForEach([&](const ElemRef& e) {
        for (size_t k = 0; k < values_.size(); ++k) {
          if (!found[k] && ElemEquals(e, values_[k])) found[k] = 1;
        }
        return true;
      });
    } else {
      const JsonColumn& j = *v.json;
      const JNode& node = j.Row(i);
      if (node.type != JType::kArray) continue;
      for (uint32_t e = 0; e < node.count; ++e) {
        const JNode& el = j.Element(node, e);
        for (size_t k = 0; k < values_.size(); ++k) {
          if (!found[k] && JsonEquals(j, el, values_[k])) found[k] = 1;
        }
      }
    }
    res[i] = decide();
  }
  ApplyValid(v.valid, n, out);
  return Status::OK();
}

std::string ContainsPred::ToString() const {
  std::string vals;
  if (mode_ == Mode::kOne) {
    vals = values_.empty() ? "" : values_[0].ToString();
  } else {
    vals = Literal(Literal::Array(values_)).ToString();
  }
  const char* name = mode_ == Mode::kOne ? "contains" : mode_ == Mode::kAll ? "contains_all" : "contains_any";
  return fmt::format("{}({}, {})", name, operand_->ToString(), vals);
}

Status EvalPred(const PredNode& node, EvalContext& ctx, BoolVec* out) {
  const IndexLeaf* leaf = node.index_leaf();
  if (leaf != nullptr && ctx.indexes() != nullptr) {
    LeafResult r;
    if (ctx.indexes()->TryLeaf(*leaf, ctx.rows(), ctx.HasColumn(leaf->field), &r)) {
      const auto n = static_cast<size_t>(ctx.rows());
      if (r.value.size() != n || (!r.valid.empty() && r.valid.size() != n)) {
        return Internal("index answer for {} has {} rows, expected {}", node.ToString(), r.value.size(), n);
      }
      out->value = std::move(r.value);
      out->valid = std::move(r.valid);
      return Status::OK();
    }
  }
  return node.Eval(ctx, out);
}

Status LogicalPred::Eval(EvalContext& ctx, BoolVec* out) const {
  const int64_t n = ctx.rows();
  KITE_RETURN_IF_ERROR(EvalPred(*kids_[0], ctx, out));
  uint8_t* __restrict v = out->value.data();
  if (kind() == PredKind::kNot) {
    if (out->valid.empty()) {
      for (int64_t i = 0; i < n; ++i) v[i] ^= 1;
    } else {
      const uint8_t* __restrict m = out->valid.data();
      for (int64_t i = 0; i < n; ++i) v[i] = (v[i] ^ 1) & m[i];
    }
    return Status::OK();
  }
  // Kleene (SQL) three-valued logic, as Milvus's conjunctions: a value is
  // (value, valid) with value 0 wherever valid is 0 (unknown).
  //   AND: false if either side is known false, true if both are true.
  //   OR:  true if either side is true, false if both are known false.
  const bool is_and = kind() == PredKind::kAnd;
  BoolVec other;
  for (size_t k = 1; k < kids_.size(); ++k) {
    KITE_RETURN_IF_ERROR(EvalPred(*kids_[k], ctx, &other));
    const uint8_t* __restrict o = other.value.data();
    if (out->valid.empty() && other.valid.empty()) {
      if (is_and) {
        for (int64_t i = 0; i < n; ++i) v[i] &= o[i];
      } else {
        for (int64_t i = 0; i < n; ++i) v[i] |= o[i];
      }
      continue;
    }
    // At least one side has unknowns; an empty mask means all known.
    if (out->valid.empty()) out->valid.assign(static_cast<size_t>(n), 1);
    uint8_t* __restrict m = out->valid.data();
    const uint8_t* om = other.valid.empty() ? nullptr : other.valid.data();
    for (int64_t i = 0; i < n; ++i) {
      const uint8_t a = v[i], am = m[i], b = o[i], bm = om ? om[i] : 1;
      if (is_and) {
        v[i] = a & b;
        m[i] = (am & bm) | (am & (a ^ 1)) | (bm & (b ^ 1));
      } else {
        v[i] = a | b;
        m[i] = (am & bm) | a | b;
      }
    }
  }
  return Status::OK();
}

std::string LogicalPred::ToString() const {
  if (kind() == PredKind::kNot) return "not (" + kids_[0]->ToString() + ")";
  std::string s = "(";
  for (size_t i = 0; i < kids_.size(); ++i) {
    if (i) s += kind() == PredKind::kAnd ? " and " : " or ";
    s += kids_[i]->ToString();
  }
  return s + ")";
}

Status SamplePred::Eval(EvalContext& ctx, BoolVec* out) const {
  const auto n = static_cast<size_t>(ctx.rows());
  std::vector<uint32_t> hits;  // rows the predicate holds on
  if (predicate_) {
    BoolVec p;
    KITE_RETURN_IF_ERROR(EvalPred(*predicate_, ctx, &p));
    for (size_t i = 0; i < n; ++i) {
      if (p.value[i]) hits.push_back(static_cast<uint32_t>(i));
    }
  } else {
    hits.resize(n);
    for (size_t i = 0; i < n; ++i) hits[i] = static_cast<uint32_t>(i);
  }
  out->value.assign(n, 0);
  out->valid.clear();
  if (hits.empty()) return Status::OK();
  // Milvus's PhyRandomSampleNode: max(floor(N * factor), 1) of the N hits.
  const auto want = std::max<size_t>(static_cast<size_t>(static_cast<double>(hits.size()) * factor_), 1);
  std::vector<uint32_t> picked;
  picked.reserve(want);
  std::random_device seed;
  std::mt19937_64 gen((static_cast<uint64_t>(seed()) << 32) | seed());
  std::sample(hits.begin(), hits.end(), std::back_inserter(picked), want, gen);
  for (uint32_t r : picked) out->value[r] = 1;
  return Status::OK();
}

std::string SamplePred::ToString() const {
  std::string sample = fmt::format("random_sample({})", factor_);
  return predicate_ ? "(" + predicate_->ToString() + " and " + sample + ")" : sample;
}

}  // namespace kite::expr::internal
