#include "roles/api/catalog_grpc.h"

#include <nlohmann/json.hpp>

#include <utility>

#include "catalog_service.grpc.pb.h"
#include "roles/api/role_call.h"
#include "roles/api/role_grpc.h"
#include "roles/coordinator/catalog_codec.h"
#include "schema/schema_codec.h"

namespace kite {
namespace {

using catalogpb::CatalogReply;
using catalogpb::CatalogRequest;
using catalogpb::CatalogService;
using nlohmann::json;
using StrMap = std::map<std::string, std::string>;

// ---- records the catalog codec does not cover, as JSON

std::string EncodeView(const CollectionView& v) {
  return json{{"info", EncodeCollection(v.info)}, {"db_name", v.db_name}, {"aliases", v.aliases}}.dump();
}

Result<CollectionView> DecodeView(const std::string& text) {
  try {
    json j = json::parse(text);
    CollectionView v;
    KITE_ASSIGN_OR_RETURN(v.info, DecodeCollection(j.at("info").get<std::string>()));
    v.db_name = j.at("db_name").get<std::string>();
    v.aliases = j.at("aliases").get<std::vector<std::string>>();
    return v;
  } catch (const json::exception& e) {
    return Corruption("cannot decode a collection view from the coordinator: {}", e.what());
  }
}

std::string EncodeCreate(const CreateCollectionParams& p) {
  return json{{"db", p.db},
              {"schema", EncodeSchema(p.schema)},
              {"num_shards", p.num_shards},
              {"consistency", static_cast<int32_t>(p.consistency)},
              {"num_partitions", p.num_partitions},
              {"properties", p.properties}}
      .dump();
}

Result<CreateCollectionParams> DecodeCreate(const std::string& text) {
  try {
    json j = json::parse(text);
    CreateCollectionParams p;
    p.db = j.at("db").get<std::string>();
    KITE_ASSIGN_OR_RETURN(p.schema, DecodeSchema(j.at("schema").get<std::string>()));
    p.num_shards = j.at("num_shards").get<int32_t>();
    p.consistency = static_cast<ConsistencyLevel>(j.at("consistency").get<int32_t>());
    p.num_partitions = j.at("num_partitions").get<int64_t>();
    p.properties = j.at("properties").get<StrMap>();
    return p;
  } catch (const json::exception& e) {
    return Corruption("cannot decode a CreateCollection request: {}", e.what());
  }
}

// A field travels as a schema holding only it.
std::string EncodeField(const FieldSchema& f) {
  CollectionSchema s;
  s.fields.push_back(f);
  return EncodeSchema(s);
}

Result<FieldSchema> DecodeField(const std::string& text) {
  KITE_ASSIGN_OR_RETURN(CollectionSchema s, DecodeSchema(text));
  if (s.fields.size() != 1) return Corruption("a field record holds {} fields", s.fields.size());
  return s.fields.front();
}

std::string EncodeCreateIndex(const CreateIndexParams& p) {
  return json{{"db", p.db},
              {"collection", p.collection},
              {"field_name", p.field_name},
              {"index_name", p.index_name},
              {"params", p.params}}
      .dump();
}

Result<CreateIndexParams> DecodeCreateIndex(const std::string& text) {
  try {
    json j = json::parse(text);
    CreateIndexParams p;
    p.db = j.at("db").get<std::string>();
    p.collection = j.at("collection").get<std::string>();
    p.field_name = j.at("field_name").get<std::string>();
    p.index_name = j.at("index_name").get<std::string>();
    p.params = j.at("params").get<StrMap>();
    return p;
  } catch (const json::exception& e) {
    return Corruption("cannot decode a CreateIndex request: {}", e.what());
  }
}

std::string EncodeProgress(const IndexProgress& p) {
  return json{{"total_rows", p.total_rows},
              {"indexed_rows", p.indexed_rows},
              {"pending_segments", p.pending_segments},
              {"failed", p.failed},
              {"fail_reason", p.fail_reason}}
      .dump();
}

IndexProgress DecodeProgress(const std::string& text) {
  IndexProgress p;
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) {
    p.pending_segments = 1;  // unreadable: not finished
    return p;
  }
  p.total_rows = j.value("total_rows", int64_t{0});
  p.indexed_rows = j.value("indexed_rows", int64_t{0});
  p.pending_segments = j.value("pending_segments", int64_t{0});
  p.failed = j.value("failed", false);
  p.fail_reason = j.value("fail_reason", std::string());
  return p;
}

std::string EncodeJob(const CompactionJob& c) {
  return json{{"state", static_cast<int>(c.state)}, {"plans", c.plans}, {"completed", c.completed}, {"failed", c.failed}}
      .dump();
}

CompactionJob DecodeJob(const std::string& text) {
  CompactionJob c;
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return c;
  c.state = static_cast<CompactionJobState>(j.value("state", 0));
  c.plans = j.value("plans", int64_t{0});
  c.completed = j.value("completed", int64_t{0});
  c.failed = j.value("failed", int64_t{0});
  return c;
}

std::vector<std::string> Strings(const google::protobuf::RepeatedPtrField<std::string>& r) {
  return {r.begin(), r.end()};
}

StrMap MapOf(const google::protobuf::Map<std::string, std::string>& m) { return {m.begin(), m.end()}; }

void SetMap(const StrMap& from, google::protobuf::Map<std::string, std::string>* to) {
  for (const auto& [k, v] : from) (*to)[k] = v;
}

grpc::Status NotServed(const char* what) {
  return ToGrpcStatus(
      MakeStatus(StatusCode::kUnimplemented, Reason::kNone, "{} is not served by this coordinator", what));
}

// ---- server

class CatalogServer final : public CatalogService::Service {
 public:
  CatalogServer(CoordinatorApi* coord, DataNodeApi* data) : c_(coord), d_(data) {}

  using Ctx = grpc::ServerContext;
  using Req = CatalogRequest;
  using Rep = CatalogReply;

  grpc::Status AllocTimestamp(Ctx* ctx, const Req*, Rep* rep) override {
    return Coord(ctx, "AllocTimestamp", [&] { return Then(c_->AllocTimestamp(), [&](Timestamp t) { rep->set_ts(t); }); });
  }
  grpc::Status AllocIds(Ctx* ctx, const Req* r, Rep* rep) override {
    return Coord(ctx, "AllocIds", [&] { return Then(c_->AllocIds(r->count()), [&](int64_t first) { rep->set_value(first); }); });
  }
  grpc::Status CreateDatabase(Ctx* ctx, const Req* r, Rep*) override {
    return Coord(ctx, "CreateDatabase", [&] { return c_->CreateDatabase(r->name(), MapOf(r->set())); });
  }
  grpc::Status DropDatabase(Ctx* ctx, const Req* r, Rep*) override {
    return Coord(ctx, "DropDatabase", [&] { return c_->DropDatabase(r->name()); });
  }
  grpc::Status ListDatabases(Ctx* ctx, const Req*, Rep* rep) override {
    return Coord(ctx, "ListDatabases", [&] {
      return Then(c_->ListDatabases(), [&](const std::vector<DatabaseInfo>& dbs) {
        for (const DatabaseInfo& d : dbs) rep->add_records(EncodeDatabase(d));
      });
    });
  }
  grpc::Status DescribeDatabase(Ctx* ctx, const Req* r, Rep* rep) override {
    return Coord(ctx, "DescribeDatabase", [&] {
      return Then(c_->DescribeDatabase(r->name()), [&](const DatabaseInfo& d) { rep->add_records(EncodeDatabase(d)); });
    });
  }
  grpc::Status AlterDatabase(Ctx* ctx, const Req* r, Rep*) override {
    return Coord(ctx, "AlterDatabase", [&] { return c_->AlterDatabase(r->name(), MapOf(r->set()), Strings(r->delete_keys())); });
  }
  grpc::Status CreateCollection(Ctx* ctx, const Req* r, Rep*) override {
    return Coord(ctx, "CreateCollection", [&]() -> Status {
      KITE_ASSIGN_OR_RETURN(CreateCollectionParams p, DecodeCreate(r->record()));
      return c_->CreateCollection(p);
    });
  }
  grpc::Status DropCollection(Ctx* ctx, const Req* r, Rep*) override {
    return Coord(ctx, "DropCollection", [&] { return c_->DropCollection(r->db(), r->collection()); });
  }
  grpc::Status DescribeCollection(Ctx* ctx, const Req* r, Rep* rep) override {
    return Coord(ctx, "DescribeCollection", [&] {
      return Then(c_->DescribeCollection(r->db(), r->collection()),
                  [&](const CollectionView& v) { rep->add_records(EncodeView(v)); });
    });
  }
  grpc::Status ListCollections(Ctx* ctx, const Req* r, Rep* rep) override {
    return Coord(ctx, "ListCollections", [&] { return Then(c_->ListCollections(r->db()), [&](const auto& vs) { AddViews(vs, rep); }); });
  }
  grpc::Status RenameCollection(Ctx* ctx, const Req* r, Rep*) override {
    return Coord(ctx, "RenameCollection", [&] { return c_->RenameCollection(r->db(), r->collection(), r->new_db(), r->name()); });
  }
  grpc::Status AlterCollection(Ctx* ctx, const Req* r, Rep*) override {
    return Coord(ctx, "AlterCollection", [&] { return c_->AlterCollection(r->db(), r->collection(), MapOf(r->set()), Strings(r->delete_keys())); });
  }
  grpc::Status AddCollectionField(Ctx* ctx, const Req* r, Rep*) override {
    return Coord(ctx, "AddCollectionField", [&]() -> Status {
      KITE_ASSIGN_OR_RETURN(FieldSchema f, DecodeField(r->record()));
      return c_->AddCollectionField(r->db(), r->collection(), f);
    });
  }
  grpc::Status AlterCollectionField(Ctx* ctx, const Req* r, Rep*) override {
    return Coord(ctx, "AlterCollectionField", [&] {
      return c_->AlterCollectionField(r->db(), r->collection(), r->field(), MapOf(r->set()), Strings(r->delete_keys()));
    });
  }
  grpc::Status CreatePartition(Ctx* ctx, const Req* r, Rep*) override {
    return Coord(ctx, "CreatePartition", [&] { return c_->CreatePartition(r->db(), r->collection(), r->name()); });
  }
  grpc::Status DropPartition(Ctx* ctx, const Req* r, Rep*) override {
    return Coord(ctx, "DropPartition", [&] { return c_->DropPartition(r->db(), r->collection(), r->name()); });
  }
  grpc::Status CreateAlias(Ctx* ctx, const Req* r, Rep*) override {
    return Coord(ctx, "CreateAlias", [&] { return c_->CreateAlias(r->db(), r->collection(), r->name()); });
  }
  grpc::Status AlterAlias(Ctx* ctx, const Req* r, Rep*) override {
    return Coord(ctx, "AlterAlias", [&] { return c_->AlterAlias(r->db(), r->collection(), r->name()); });
  }
  grpc::Status DropAlias(Ctx* ctx, const Req* r, Rep*) override {
    return Coord(ctx, "DropAlias", [&] { return c_->DropAlias(r->db(), r->name()); });
  }
  grpc::Status DescribeAlias(Ctx* ctx, const Req* r, Rep* rep) override {
    return Coord(ctx, "DescribeAlias", [&] {
      return Then(c_->DescribeAlias(r->db(), r->name()), [&](const AliasInfo& a) {
        rep->add_names(a.db_name);
        rep->add_names(a.alias);
        rep->add_names(a.collection);
      });
    });
  }
  grpc::Status ListAliases(Ctx* ctx, const Req* r, Rep* rep) override {
    return Coord(ctx, "ListAliases", [&] {
      return Then(c_->ListAliases(r->db(), r->collection()), [&](const std::vector<std::string>& names) {
        for (const std::string& n : names) rep->add_names(n);
      });
    });
  }
  grpc::Status CreateIndex(Ctx* ctx, const Req* r, Rep*) override {
    return Coord(ctx, "CreateIndex", [&]() -> Status {
      KITE_ASSIGN_OR_RETURN(CreateIndexParams p, DecodeCreateIndex(r->record()));
      return c_->CreateIndex(p);
    });
  }
  grpc::Status DescribeIndex(Ctx* ctx, const Req* r, Rep* rep) override {
    return Coord(ctx, "DescribeIndex", [&] {
      return Then(c_->DescribeIndex(r->db(), r->collection(), r->field(), r->name()),
                  [&](const std::vector<IndexInfo>& indexes) {
                    for (const IndexInfo& i : indexes) rep->add_records(EncodeIndex(i));
                  });
    });
  }
  grpc::Status DropIndex(Ctx* ctx, const Req* r, Rep*) override {
    return Coord(ctx, "DropIndex", [&] { return c_->DropIndex(r->db(), r->collection(), r->field(), r->name()); });
  }
  grpc::Status AlterIndex(Ctx* ctx, const Req* r, Rep*) override {
    return Coord(ctx, "AlterIndex",
        [&] { return c_->AlterIndex(r->db(), r->collection(), r->name(), MapOf(r->set()), Strings(r->delete_keys())); });
  }
  grpc::Status Load(Ctx* ctx, const Req* r, Rep*) override {
    return Coord(ctx, "Load", [&] { return c_->Load(r->db(), r->collection(), Strings(r->partitions())); });
  }
  grpc::Status Release(Ctx* ctx, const Req* r, Rep*) override {
    return Coord(ctx, "Release", [&] { return c_->Release(r->db(), r->collection(), Strings(r->partitions())); });
  }
  grpc::Status ListAllCollections(Ctx* ctx, const Req*, Rep* rep) override {
    return Coord(ctx, "ListAllCollections", [&] { return Then(c_->ListAllCollections(), [&](const auto& vs) { AddViews(vs, rep); }); });
  }
  grpc::Status GetLoadProgress(Ctx* ctx, const Req* r, Rep* rep) override {
    return Coord(ctx, "GetLoadProgress", [&] {
      return Then(c_->GetLoadProgress(r->db(), r->collection(), Strings(r->partitions())), [&](const LoadProgress& p) {
        rep->set_value(static_cast<int64_t>(p.state));
        rep->set_ts(static_cast<uint64_t>(p.progress));
      });
    });
  }

  grpc::Status KickDataNode(Ctx*, const Req*, Rep*) override {
    if (!d_) return NotServed("the data node");
    d_->Kick();
    return grpc::Status::OK;
  }
  grpc::Status IndexProgress(Ctx*, const Req* r, Rep* rep) override {
    if (!d_) return NotServed("the data node");
    Result<IndexInfo> index = DecodeIndex(r->record());
    if (!index.ok()) return ToGrpcStatus(index.status());
    rep->add_records(EncodeProgress(d_->Progress(CollectionId(r->collection_id()), *index, r->as_of())));
    return grpc::Status::OK;
  }
  grpc::Status RequestCompaction(Ctx*, const Req* r, Rep* rep) override {
    if (!d_) return NotServed("the data node");
    Result<int64_t> job = d_->RequestCompaction(CollectionId(r->collection_id()));
    if (!job.ok()) return ToGrpcStatus(job.status());
    rep->set_value(*job);
    return grpc::Status::OK;
  }
  grpc::Status GetCompaction(Ctx*, const Req* r, Rep* rep) override {
    if (!d_) return NotServed("the data node");
    rep->add_records(EncodeJob(d_->GetCompaction(r->job())));
    return grpc::Status::OK;
  }

 private:
  // Serves one catalog call under its request context (role_grpc.h
  // ServedCall): refused once the client's deadline passed, logged when it
  // failed or was slow.
  template <typename Fn>
  grpc::Status Coord(Ctx* ctx, const char* rpc, Fn&& fn) {
    if (!c_) return NotServed("the catalog");
    ServedCall call(rpc, ContextFromMetadata(*ctx), ctx);
    if (call.Expired()) return call.Finish(ToGrpcStatus(DeadlineExceededStatus()));
    return call.Finish(ToGrpcStatus(fn()));
  }
  // The status of `r`, after `fill` took its value when it has one.
  template <typename T, typename Fill>
  static Status Then(const Result<T>& r, Fill&& fill) {
    if (!r.ok()) return r.status();
    fill(*r);
    return Status::OK();
  }
  static void AddViews(const std::vector<CollectionView>& views, Rep* rep) {
    for (const CollectionView& v : views) rep->add_records(EncodeView(v));
  }

  CoordinatorApi* const c_;
  DataNodeApi* const d_;
};

// ---- clients

using Stub = CatalogService::Stub;
using Method = grpc::Status (Stub::*)(grpc::ClientContext*, const CatalogRequest&, CatalogReply*);

// One call on the channel the source names now, bounded by the calling
// thread's request context.
Status Call(const ChannelSource& source, Method method, const CatalogRequest& req, CatalogReply* rep, bool ddl) {
  std::shared_ptr<grpc::Channel> channel = source ? source() : nullptr;
  if (!channel) {
    return MakeStatus(StatusCode::kIOError, Reason::kServiceUnavailable, "role peer unavailable: no active coordinator");
  }
  // A stub is a channel pointer and a few method descriptors: cheap per call.
  std::unique_ptr<Stub> stub = CatalogService::NewStub(channel);
  rolepb::RequestContext rc;
  FillRequestContext(&rc);
  return RunRoleCall(
      [&](grpc::ClientContext* ctx) {
        AddContextMetadata(rc, ctx);  // request id and caller, for the coordinator's logs
        return (stub.get()->*method)(ctx, req, rep);
      },
      ddl, &rc);
}

template <typename T>
Result<std::vector<T>> Records(const CatalogReply& rep, Result<T> (*decode)(const std::string&)) {
  std::vector<T> out;
  out.reserve(rep.records_size());
  for (const std::string& r : rep.records()) {
    KITE_ASSIGN_OR_RETURN(T v, decode(r));
    out.push_back(std::move(v));
  }
  return out;
}

template <typename T>
Result<T> OneRecord(const CatalogReply& rep, Result<T> (*decode)(const std::string&)) {
  if (rep.records_size() != 1) return Corruption("the coordinator answered {} records for one", rep.records_size());
  return decode(rep.records(0));
}

CatalogRequest Named(const std::string& db, const std::string& collection, const std::string& name = "") {
  CatalogRequest r;
  r.set_db(db);
  r.set_collection(collection);
  r.set_name(name);
  return r;
}

CatalogRequest Altering(CatalogRequest r, const StrMap& set, const std::vector<std::string>& delete_keys) {
  SetMap(set, r.mutable_set());
  for (const std::string& k : delete_keys) r.add_delete_keys(k);
  return r;
}

class RemoteCoordinator final : public CoordinatorApi {
 public:
  explicit RemoteCoordinator(ChannelSource source) : source_(std::move(source)) {}

  Result<Timestamp> AllocTimestamp() override {
    CatalogReply rep;
    KITE_RETURN_IF_ERROR(Read(&Stub::AllocTimestamp, CatalogRequest(), &rep));
    return Timestamp(rep.ts());
  }
  Result<int64_t> AllocIds(int64_t count) override {
    CatalogRequest req;
    req.set_count(count);
    CatalogReply rep;
    KITE_RETURN_IF_ERROR(Read(&Stub::AllocIds, req, &rep));
    return rep.value();
  }

  Status CreateDatabase(const std::string& name, const StrMap& props) override {
    return Ddl(&Stub::CreateDatabase, Altering(Named("", "", name), props, {}));
  }
  Status DropDatabase(const std::string& name) override { return Ddl(&Stub::DropDatabase, Named("", "", name)); }
  Result<std::vector<DatabaseInfo>> ListDatabases() override {
    CatalogReply rep;
    KITE_RETURN_IF_ERROR(Read(&Stub::ListDatabases, CatalogRequest(), &rep));
    return Records<DatabaseInfo>(rep, &DecodeDatabase);
  }
  Result<DatabaseInfo> DescribeDatabase(const std::string& name) override {
    CatalogReply rep;
    KITE_RETURN_IF_ERROR(Read(&Stub::DescribeDatabase, Named("", "", name), &rep));
    return OneRecord<DatabaseInfo>(rep, &DecodeDatabase);
  }
  Status AlterDatabase(const std::string& name, const StrMap& set, const std::vector<std::string>& delete_keys) override {
    return Ddl(&Stub::AlterDatabase, Altering(Named("", "", name), set, delete_keys));
  }

  Status CreateCollection(const CreateCollectionParams& params) override {
    CatalogRequest req;
    req.set_record(EncodeCreate(params));
    return Ddl(&Stub::CreateCollection, req);
  }
  Status DropCollection(const std::string& db, const std::string& name) override {
    return Ddl(&Stub::DropCollection, Named(db, name));
  }
  Result<CollectionView> DescribeCollection(const std::string& db, const std::string& name_or_alias) override {
    CatalogReply rep;
    KITE_RETURN_IF_ERROR(Read(&Stub::DescribeCollection, Named(db, name_or_alias), &rep));
    return OneRecord<CollectionView>(rep, &DecodeView);
  }
  Result<std::vector<CollectionView>> ListCollections(const std::string& db) override {
    CatalogReply rep;
    KITE_RETURN_IF_ERROR(Read(&Stub::ListCollections, Named(db, ""), &rep));
    return Records<CollectionView>(rep, &DecodeView);
  }
  Status RenameCollection(const std::string& db, const std::string& old_name, const std::string& new_db,
                          const std::string& new_name) override {
    CatalogRequest req = Named(db, old_name, new_name);
    req.set_new_db(new_db);
    return Ddl(&Stub::RenameCollection, req);
  }
  Status AlterCollection(const std::string& db, const std::string& name, const StrMap& set,
                         const std::vector<std::string>& delete_keys) override {
    return Ddl(&Stub::AlterCollection, Altering(Named(db, name), set, delete_keys));
  }
  Status AddCollectionField(const std::string& db, const std::string& name, const FieldSchema& field) override {
    CatalogRequest req = Named(db, name);
    req.set_record(EncodeField(field));
    return Ddl(&Stub::AddCollectionField, req);
  }
  Status AlterCollectionField(const std::string& db, const std::string& name, const std::string& field_name,
                              const StrMap& set, const std::vector<std::string>& delete_keys) override {
    CatalogRequest req = Altering(Named(db, name), set, delete_keys);
    req.set_field(field_name);
    return Ddl(&Stub::AlterCollectionField, req);
  }

  Status CreatePartition(const std::string& db, const std::string& collection, const std::string& name) override {
    return Ddl(&Stub::CreatePartition, Named(db, collection, name));
  }
  Status DropPartition(const std::string& db, const std::string& collection, const std::string& name) override {
    return Ddl(&Stub::DropPartition, Named(db, collection, name));
  }

  Status CreateAlias(const std::string& db, const std::string& collection, const std::string& alias) override {
    return Ddl(&Stub::CreateAlias, Named(db, collection, alias));
  }
  Status AlterAlias(const std::string& db, const std::string& collection, const std::string& alias) override {
    return Ddl(&Stub::AlterAlias, Named(db, collection, alias));
  }
  Status DropAlias(const std::string& db, const std::string& alias) override {
    return Ddl(&Stub::DropAlias, Named(db, "", alias));
  }
  Result<AliasInfo> DescribeAlias(const std::string& db, const std::string& alias) override {
    CatalogReply rep;
    KITE_RETURN_IF_ERROR(Read(&Stub::DescribeAlias, Named(db, "", alias), &rep));
    if (rep.names_size() != 3) return Corruption("the coordinator answered an alias in {} parts", rep.names_size());
    return AliasInfo{rep.names(0), rep.names(1), rep.names(2)};
  }
  Result<std::vector<std::string>> ListAliases(const std::string& db, const std::string& collection) override {
    CatalogReply rep;
    KITE_RETURN_IF_ERROR(Read(&Stub::ListAliases, Named(db, collection), &rep));
    return std::vector<std::string>(rep.names().begin(), rep.names().end());
  }

  Status CreateIndex(const CreateIndexParams& params) override {
    CatalogRequest req;
    req.set_record(EncodeCreateIndex(params));
    return Ddl(&Stub::CreateIndex, req);
  }
  Result<std::vector<IndexInfo>> DescribeIndex(const std::string& db, const std::string& collection,
                                               const std::string& field_name, const std::string& index_name) override {
    CatalogRequest req = Named(db, collection, index_name);
    req.set_field(field_name);
    CatalogReply rep;
    KITE_RETURN_IF_ERROR(Read(&Stub::DescribeIndex, req, &rep));
    return Records<IndexInfo>(rep, &DecodeIndex);
  }
  Status DropIndex(const std::string& db, const std::string& collection, const std::string& field_name,
                   const std::string& index_name) override {
    CatalogRequest req = Named(db, collection, index_name);
    req.set_field(field_name);
    return Ddl(&Stub::DropIndex, req);
  }
  Status AlterIndex(const std::string& db, const std::string& collection, const std::string& index_name,
                    const StrMap& set, const std::vector<std::string>& delete_keys) override {
    return Ddl(&Stub::AlterIndex, Altering(Named(db, collection, index_name), set, delete_keys));
  }

  Status Load(const std::string& db, const std::string& collection, const std::vector<std::string>& partitions) override {
    return Ddl(&Stub::Load, WithPartitions(Named(db, collection), partitions));
  }
  Status Release(const std::string& db, const std::string& collection,
                 const std::vector<std::string>& partitions) override {
    return Ddl(&Stub::Release, WithPartitions(Named(db, collection), partitions));
  }
  Result<std::vector<CollectionView>> ListAllCollections() override {
    CatalogReply rep;
    KITE_RETURN_IF_ERROR(Read(&Stub::ListAllCollections, CatalogRequest(), &rep));
    return Records<CollectionView>(rep, &DecodeView);
  }
  Result<LoadProgress> GetLoadProgress(const std::string& db, const std::string& collection,
                                       const std::vector<std::string>& partitions) override {
    CatalogReply rep;
    KITE_RETURN_IF_ERROR(Read(&Stub::GetLoadProgress, WithPartitions(Named(db, collection), partitions), &rep));
    LoadProgress p;
    p.state = static_cast<LoadState>(rep.value());
    p.progress = static_cast<int64_t>(rep.ts());
    return p;
  }

 private:
  static CatalogRequest WithPartitions(CatalogRequest r, const std::vector<std::string>& partitions) {
    for (const std::string& p : partitions) r.add_partitions(p);
    return r;
  }
  Status Ddl(Method m, const CatalogRequest& req) {
    CatalogReply rep;
    return Call(source_, m, req, &rep, /*ddl=*/true);
  }
  Status Read(Method m, const CatalogRequest& req, CatalogReply* rep) {
    return Call(source_, m, req, rep, /*ddl=*/false);
  }

  ChannelSource source_;
};

class RemoteDataNode final : public DataNodeApi {
 public:
  explicit RemoteDataNode(ChannelSource source) : source_(std::move(source)) {}

  void Kick() override {
    CatalogReply rep;
    (void)Call(source_, &Stub::KickDataNode, CatalogRequest(), &rep, false);  // a hint: the next kick or timer catches up
  }
  IndexProgress Progress(CollectionId collection, const IndexInfo& index, Timestamp as_of) const override {
    CatalogRequest req;
    req.set_collection_id(collection.value);
    req.set_record(EncodeIndex(index));
    req.set_as_of(as_of);
    CatalogReply rep;
    Status st = Call(source_, &Stub::IndexProgress, req, &rep, false);
    if (!st.ok() || rep.records_size() != 1) {
      IndexProgress unknown;  // the coordinator cannot say now: not finished
      unknown.pending_segments = 1;
      return unknown;
    }
    return DecodeProgress(rep.records(0));
  }
  Result<int64_t> RequestCompaction(CollectionId collection) override {
    CatalogRequest req;
    req.set_collection_id(collection.value);
    CatalogReply rep;
    KITE_RETURN_IF_ERROR(Call(source_, &Stub::RequestCompaction, req, &rep, true));
    return rep.value();
  }
  CompactionJob GetCompaction(int64_t job) const override {
    CatalogRequest req;
    req.set_job(job);
    CatalogReply rep;
    Status st = Call(source_, &Stub::GetCompaction, req, &rep, false);
    if (!st.ok() || rep.records_size() != 1) return CompactionJob{};
    return DecodeJob(rep.records(0));
  }

 private:
  ChannelSource source_;
};

}  // namespace

std::unique_ptr<grpc::Service> MakeCatalogService(CoordinatorApi* coordinator, DataNodeApi* data_node) {
  return std::make_unique<CatalogServer>(coordinator, data_node);
}

std::unique_ptr<CoordinatorApi> MakeRemoteCoordinator(ChannelSource channel) {
  return std::make_unique<RemoteCoordinator>(std::move(channel));
}

std::unique_ptr<DataNodeApi> MakeRemoteDataNode(ChannelSource channel) {
  return std::make_unique<RemoteDataNode>(std::move(channel));
}

}  // namespace kite
