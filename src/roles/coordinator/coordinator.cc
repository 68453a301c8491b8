#include "roles/coordinator/coordinator.h"

#include <algorithm>
#include <cctype>
#include <climits>
#include <map>
#include <mutex>

#include "index/index_params.h"
#include "roles/coordinator/catalog_codec.h"
#include "roles/coordinator/segment_registry.h"
#include "roles/coordinator/tso.h"
#include "schema/schema_codec.h"

namespace kite {

LoadState CollectionInfo::load_state() const {
  for (const auto& p : partitions) {
    if (p.loaded) return LoadState::kLoaded;
  }
  return LoadState::kNotLoad;
}

const PartitionInfo* CollectionInfo::FindPartition(std::string_view n) const {
  for (const auto& p : partitions) {
    if (p.name == n) return &p;
  }
  return nullptr;
}

namespace {

// A decimal integer that fills `s` (Go's strconv.ParseInt, base 10).
bool ParseInt64(const std::string& s, int64_t* out) {
  try {
    size_t pos = 0;
    long long v = std::stoll(s, &pos, 10);
    if (pos != s.size() || s.empty() || std::isspace(static_cast<unsigned char>(s[0]))) return false;
    *out = v;
    return true;
  } catch (...) {
    return false;
  }
}

// collection.ttl.seconds, as Milvus's validateCollectionTTL (proxy task.go)
// checks it on create and on alter: an integer in [-1, 100 years].
Status ValidateCollectionTtl(const std::map<std::string, std::string>& properties) {
  constexpr int64_t kMaxTtlSeconds = 3155760000;
  auto it = properties.find("collection.ttl.seconds");
  if (it == properties.end()) return Status::OK();
  int64_t ttl = 0;
  if (!ParseInt64(it->second, &ttl)) return InvalidArgument("collection TTL is not a valid positive integer: invalid parameter");
  if (ttl < -1 || ttl > kMaxTtlSeconds) {
    return InvalidArgument("collection TTL is out of range, expect [-1, {}], got {}: invalid parameter", kMaxTtlSeconds,
                           ttl);
  }
  return Status::OK();
}

std::string DbKey(DatabaseId id) { return "kite/db/" + std::to_string(id.value); }
std::string CollKey(CollectionId id) { return "kite/coll/" + std::to_string(id.value); }
std::string AliasKey(DatabaseId db, const std::string& alias) {
  return "kite/alias/" + std::to_string(db.value) + "/" + alias;
}
std::string IndexKey(const IndexInfo& i) {
  return "kite/index/" + std::to_string(i.collection_id.value) + "/" + std::to_string(i.id.value);
}

const std::string& DbOrDefault(const std::string& db) {
  static const std::string kDefault = kDefaultDatabaseName;
  return db.empty() ? kDefault : db;
}

Status CollectionNotFound(const std::string& db, const std::string& name) {
  return MakeStatus(StatusCode::kNotFound, Reason::kCollectionNotFound, "collection not found[database={}][collection={}]",
                    DbOrDefault(db), name);
}

// Schema equality for idempotent CreateCollection: ignores assigned ids.
std::string SchemaFingerprint(CollectionSchema s) {
  std::erase_if(s.fields, [](const FieldSchema& f) { return f.is_dynamic; });
  for (auto& f : s.fields) f.id = FieldId(0);
  for (auto& st : s.structs) st.id = FieldId(0);
  return EncodeSchema(s);
}

class Coordinator final : public CoordinatorApi {
 public:
  Coordinator(MetaStore* meta, const Limits& limits, std::unique_ptr<Tso> tso, std::unique_ptr<IdAllocator> ids)
      : meta_(meta), limits_(limits), tso_(std::move(tso)), ids_(std::move(ids)) {}

  Status Load() {
    KITE_RETURN_IF_ERROR(LoadPrefix("kite/db/", [&](const std::string& v) -> Status {
      KITE_ASSIGN_OR_RETURN(auto db, DecodeDatabase(v));
      dbs_[db.id.value] = std::move(db);
      return Status::OK();
    }));
    KITE_RETURN_IF_ERROR(LoadPrefix("kite/coll/", [&](const std::string& v) -> Status {
      KITE_ASSIGN_OR_RETURN(auto c, DecodeCollection(v));
      colls_[c.id.value] = std::move(c);
      return Status::OK();
    }));
    KITE_RETURN_IF_ERROR(LoadPrefix("kite/index/", [&](const std::string& v) -> Status {
      KITE_ASSIGN_OR_RETURN(auto i, DecodeIndex(v));
      indexes_[i.id.value] = std::move(i);
      return Status::OK();
    }));
    Status st = meta_->Scan("kite/alias/", [&](std::string_view k, std::string_view v) {
      std::string_view rest = k.substr(std::string_view("kite/alias/").size());
      auto slash = rest.find('/');
      aliases_[{std::stoll(std::string(rest.substr(0, slash))), std::string(rest.substr(slash + 1))}] =
          std::stoll(std::string(v));
    });
    KITE_RETURN_IF_ERROR(st);
    if (!dbs_.count(kDefaultDatabaseId.value)) {
      KITE_ASSIGN_OR_RETURN(Timestamp ts, tso_->Alloc());
      DatabaseInfo db{kDefaultDatabaseId, kDefaultDatabaseName, ts, {}};
      MetaBatch b;
      b.Put(DbKey(db.id), EncodeDatabase(db));
      KITE_RETURN_IF_ERROR(meta_->Commit(b));
      dbs_[db.id.value] = db;
    }
    return Status::OK();
  }

  Result<Timestamp> AllocTimestamp() override { return tso_->Alloc(); }
  Result<int64_t> AllocIds(int64_t count) override { return ids_->Alloc(count); }

  Result<std::vector<CollectionView>> ListAllCollections() override {
    std::lock_guard lock(mu_);
    std::vector<CollectionView> out;
    for (const auto& [id, c] : colls_) out.push_back(View(c));
    return out;
  }

  // ---------------------------------------------------------------- databases
  Status CreateDatabase(const std::string& name, const std::map<std::string, std::string>& props) override {
    KITE_RETURN_IF_ERROR(ValidateDatabaseName(name, limits_));
    std::lock_guard lock(mu_);
    // Milvus 2.6 MetaTable.CheckIfDatabaseCreatable: a plain error (65535).
    if (FindDb(name)) return Unclassified("database already exist: {}", name);
    if (static_cast<int>(dbs_.size()) >= limits_.max_database_num) {
      return MakeStatus(StatusCode::kResourceExhausted, Reason::kDatabaseLimit,
                        "database number ({}) exceeds max configuration ({})", dbs_.size(), limits_.max_database_num);
    }
    KITE_ASSIGN_OR_RETURN(int64_t id, ids_->Alloc());
    KITE_ASSIGN_OR_RETURN(Timestamp ts, tso_->Alloc());
    DatabaseInfo db{DatabaseId(id), name, ts, props};
    MetaBatch b;
    b.Put(DbKey(db.id), EncodeDatabase(db));
    KITE_RETURN_IF_ERROR(meta_->Commit(b));
    dbs_[id] = std::move(db);
    return Status::OK();
  }

  Status DropDatabase(const std::string& name) override {
    KITE_RETURN_IF_ERROR(ValidateDatabaseName(name, limits_));
    std::lock_guard lock(mu_);
    if (name == kDefaultDatabaseName) return InvalidArgument("can not drop default database");
    DatabaseInfo* db = FindDb(name);
    if (!db) return Status::OK();  // Milvus: dropping a missing database succeeds
    for (const auto& [id, c] : colls_) {
      if (c.db_id == db->id) {
        return InvalidArgument("database:{} not empty, must drop all collections before drop database", name);
      }
    }
    MetaBatch b;
    b.Delete(DbKey(db->id));
    KITE_RETURN_IF_ERROR(meta_->Commit(b));
    dbs_.erase(db->id.value);
    return Status::OK();
  }

  Result<std::vector<DatabaseInfo>> ListDatabases() override {
    std::lock_guard lock(mu_);
    std::vector<DatabaseInfo> out;
    for (const auto& [id, db] : dbs_) out.push_back(db);
    return out;
  }

  Result<DatabaseInfo> DescribeDatabase(const std::string& name) override {
    std::lock_guard lock(mu_);
    KITE_ASSIGN_OR_RETURN(DatabaseInfo * db, GetDb(name));
    return *db;
  }

  Status AlterDatabase(const std::string& name, const std::map<std::string, std::string>& set,
                       const std::vector<std::string>& delete_keys) override {
    // Milvus's rootcoord alterDatabaseTask.Execute, before the database is looked up.
    if (set.empty() && delete_keys.empty()) {
      return Unclassified(
          "alter database requires either properties or deletekeys to modify or delete keys, both cannot be empty");
    }
    if (!set.empty() && !delete_keys.empty()) {
      return Unclassified("alter database operation cannot modify properties and delete keys at the same time");
    }
    std::lock_guard lock(mu_);
    KITE_ASSIGN_OR_RETURN(DatabaseInfo * db, GetDb(name));
    DatabaseInfo updated = *db;
    for (const auto& [k, v] : set) updated.properties[k] = v;
    for (const auto& k : delete_keys) updated.properties.erase(k);
    MetaBatch b;
    b.Put(DbKey(updated.id), EncodeDatabase(updated));
    KITE_RETURN_IF_ERROR(meta_->Commit(b));
    *db = std::move(updated);
    return Status::OK();
  }

  // -------------------------------------------------------------- collections
  Status CreateCollection(const CreateCollectionParams& p) override {
    std::lock_guard lock(mu_);
    KITE_ASSIGN_OR_RETURN(DatabaseInfo * db, GetDb(p.db));
    const std::string& name = p.schema.name;
    if (CollectionInfo* existing = FindColl(db->id, name, /*allow_alias=*/false)) {
      if (SchemaFingerprint(existing->schema) == SchemaFingerprint(p.schema) &&
          existing->num_shards == p.num_shards) {
        return Status::OK();  // Milvus: same definition again is a no-op
      }
      return InvalidArgument("create duplicate collection with different parameters, collection: {}", name);
    }
    if (aliases_.count({db->id.value, name})) {
      return MakeStatus(StatusCode::kAlreadyExists, Reason::kAliasNameConflict,
                        "collection name [{}] conflicts with an existing alias, please choose a unique name", name);
    }
    KITE_RETURN_IF_ERROR(ValidateCollectionTtl(p.properties));
    if (static_cast<int>(colls_.size()) >= limits_.max_collection_num) {
      return MakeStatus(StatusCode::kResourceExhausted, Reason::kCollectionLimit,
                        "failed checking constraint: sum_collections ({}) >= max_collections ({})", colls_.size(),
                        limits_.max_collection_num);
    }
    if (auto it = db->properties.find("database.max.collections"); it != db->properties.end()) {
      int64_t in_db = 0;
      for (const auto& [id, c] : colls_) in_db += (c.db_id == db->id);
      if (in_db >= std::stoll(it->second)) {
        return MakeStatus(StatusCode::kResourceExhausted, Reason::kCollectionLimit,
                          "exceeded the limit number of collections in database {}: {}", db->name, it->second);
      }
    }

    CollectionInfo c;
    KITE_ASSIGN_OR_RETURN(int64_t cid, ids_->Alloc());
    KITE_ASSIGN_OR_RETURN(Timestamp ts, tso_->Alloc());
    c.id = CollectionId(cid);
    c.db_id = db->id;
    c.schema = p.schema;
    int64_t next_field = kFirstUserFieldId;
    for (auto& f : c.schema.fields) {
      if (f.struct_name.empty()) f.id = FieldId(next_field++);
    }
    if (c.schema.enable_dynamic_field) {
      FieldSchema meta_field;
      meta_field.id = FieldId(next_field++);
      meta_field.name = kDynamicFieldName;
      meta_field.type = DataType::kJson;
      meta_field.is_dynamic = true;
      meta_field.description = "dynamic schema";
      c.schema.fields.push_back(std::move(meta_field));
    }
    // Array of Structs fields after the others, each followed by its sub-fields (as Milvus numbers them).
    for (auto& st : c.schema.structs) {
      st.id = FieldId(next_field++);
      for (auto& f : c.schema.fields) {
        if (f.struct_name == st.name) f.id = FieldId(next_field++);
      }
    }
    c.num_shards = p.num_shards;
    c.consistency = p.consistency;
    c.properties = p.properties;
    c.created_ts = c.update_ts = ts;
    for (int i = 0; i < c.num_shards; ++i) {
      c.channels.push_back("kite-dml_" + std::to_string(i) + "_" + std::to_string(cid) + "v" + std::to_string(i));
    }
    bool has_partition_key = std::any_of(c.schema.fields.begin(), c.schema.fields.end(),
                                         [](const FieldSchema& f) { return f.is_partition_key; });
    if (has_partition_key) {
      c.num_partitions = p.num_partitions > 0 ? p.num_partitions : limits_.default_num_partitions;
      if (c.num_partitions > limits_.max_partition_num) {
        return InvalidArgument("partition number ({}) exceeds max configuration ({}), collection: {}",
                               c.num_partitions, limits_.max_partition_num, name);
      }
      for (int64_t i = 0; i < c.num_partitions; ++i) {
        KITE_ASSIGN_OR_RETURN(int64_t pid, ids_->Alloc());
        c.partitions.push_back({PartitionId(pid), std::string(kDefaultPartitionName) + "_" + std::to_string(i), ts, false});
      }
    } else {
      KITE_ASSIGN_OR_RETURN(int64_t pid, ids_->Alloc());
      c.partitions.push_back({PartitionId(pid), kDefaultPartitionName, ts, false});
    }
    if (static_cast<int64_t>(c.num_shards) * static_cast<int64_t>(c.partitions.size()) >
        limits_.max_general_capacity) {
      return InvalidArgument("partition number ({}) x shard number ({}) exceeds max general capacity ({})",
                             c.partitions.size(), c.num_shards, limits_.max_general_capacity);
    }
    MetaBatch b;
    b.Put(CollKey(c.id), EncodeCollection(c));
    KITE_RETURN_IF_ERROR(meta_->Commit(b));
    colls_[cid] = std::move(c);
    return Status::OK();
  }

  Status DropCollection(const std::string& db_name, const std::string& name) override {
    std::lock_guard lock(mu_);
    KITE_ASSIGN_OR_RETURN(DatabaseInfo * db, GetDb(db_name));
    CollectionInfo* c = FindColl(db->id, name, /*allow_alias=*/false);
    if (!c) {
      if (aliases_.count({db->id.value, name})) {
        return Unclassified("cannot drop the collection via alias = {}", name);  // rootcoord: fmt.Errorf (65535)
      }
      return Status::OK();  // Milvus: dropping a missing collection succeeds
    }
    std::vector<std::string> its_aliases = AliasesOf(*c);
    if (!its_aliases.empty()) {
      return InvalidArgument(
          "unable to drop the collection [{}] because it has associated aliases [{}], please remove all aliases "
          "before dropping the collection",
          name, fmt::join(its_aliases, ", "));
    }
    MetaBatch b;
    b.Delete(CollKey(c->id));
    // The data goes after this batch (StreamingNode::Drop); the marker lets
    // the next start finish it if a crash comes first (GarbageCollector).
    b.Put(DroppingMetaKey(c->id),
          EncodeDropping(DroppingCollection{c->id, c->channels, static_cast<int64_t>(WallClockMs())}));
    std::vector<int64_t> dropped_indexes;
    for (const auto& [iid, idx] : indexes_) {
      if (idx.collection_id == c->id) {
        b.Delete(IndexKey(idx));
        dropped_indexes.push_back(iid);
      }
    }
    KITE_RETURN_IF_ERROR(meta_->Commit(b));
    for (int64_t iid : dropped_indexes) indexes_.erase(iid);
    colls_.erase(c->id.value);
    return Status::OK();
  }

  Result<CollectionView> DescribeCollection(const std::string& db_name, const std::string& name) override {
    std::lock_guard lock(mu_);
    KITE_ASSIGN_OR_RETURN(DatabaseInfo * db, GetDb(db_name));
    KITE_ASSIGN_OR_RETURN(CollectionInfo * c, GetColl(*db, name));
    return View(*c);
  }

  Result<std::vector<CollectionView>> ListCollections(const std::string& db_name) override {
    std::lock_guard lock(mu_);
    KITE_ASSIGN_OR_RETURN(DatabaseInfo * db, GetDb(db_name));
    std::vector<CollectionView> out;
    for (const auto& [id, c] : colls_) {
      if (c.db_id == db->id) out.push_back(View(c));
    }
    return out;
  }

  Status RenameCollection(const std::string& db_name, const std::string& old_name, const std::string& new_db_name,
                          const std::string& new_name) override {
    KITE_RETURN_IF_ERROR(ValidateCollectionName(new_name, "name", limits_));
    std::lock_guard lock(mu_);
    KITE_ASSIGN_OR_RETURN(DatabaseInfo * db, GetDb(db_name));
    KITE_ASSIGN_OR_RETURN(DatabaseInfo * new_db, GetDb(new_db_name.empty() ? db->name : new_db_name));
    CollectionInfo* c = FindColl(db->id, old_name, /*allow_alias=*/false);
    if (!c) return CollectionNotFound(db->name, old_name);
    // Milvus 2.6 MetaTable.CheckIfCollectionRenamable: an alias is a name
    // conflict (1601), a collection a parameter error.
    if (aliases_.count({new_db->id.value, new_name})) {
      return MakeStatus(StatusCode::kAlreadyExists, Reason::kAliasNameConflict,
                        "alias and collection name conflict[database={}][alias={}]", new_db->name, new_name);
    }
    if (FindColl(new_db->id, new_name, /*allow_alias=*/false)) {
      return InvalidArgument("duplicated new collection name {}:{} with other collection name or alias: invalid parameter",
                             new_db->name, new_name);
    }
    if (new_db->id != db->id && !AliasesOf(*c).empty()) {
      return InvalidArgument("fail to rename collection to different database, must drop all aliases of collection {} first",
                             old_name);
    }
    CollectionInfo updated = *c;
    updated.schema.name = new_name;
    updated.db_id = new_db->id;
    KITE_ASSIGN_OR_RETURN(updated.update_ts, tso_->Alloc());
    return Persist(std::move(updated));
  }

  Status AlterCollection(const std::string& db_name, const std::string& name,
                         const std::map<std::string, std::string>& set,
                         const std::vector<std::string>& delete_keys) override {
    std::lock_guard lock(mu_);
    KITE_ASSIGN_OR_RETURN(DatabaseInfo * db, GetDb(db_name));
    KITE_ASSIGN_OR_RETURN(CollectionInfo * c, GetColl(*db, name));
    if (!set.empty() && !delete_keys.empty()) {
      return InvalidArgument("can not provide properties and deletekeys at the same time");
    }
    KITE_RETURN_IF_ERROR(ValidateCollectionTtl(set));
    KITE_RETURN_IF_ERROR(CheckIsolationChange(*c, set, delete_keys));
    CollectionInfo updated = *c;
    for (const auto& [k, v] : set) {
      // Milvus 2.6 alterCollectionTask.PreExecute: mmap and lazy load
      // cannot change under a loaded collection (merr.WrapErrCollectionLoaded).
      if ((k == "mmap.enabled" || k == "lazyload.enabled") && c->load_state() == LoadState::kLoaded) {
        return MakeStatus(StatusCode::kFailedPrecondition, Reason::kCollectionLoaded,
                          "can not alter mmap properties if collection loaded: collection already loaded[collection={}]",
                          name);
      }
      updated.properties[k] = v;
    }
    for (const auto& k : delete_keys) {
      if ((k == "mmap.enabled" || k == "lazyload.enabled") && c->load_state() == LoadState::kLoaded) {
        return MakeStatus(StatusCode::kFailedPrecondition, Reason::kCollectionLoaded,
                          "can not delete mmap properties if collection loaded: collection already loaded[collection={}]",
                          name);
      }
    }
    for (const auto& k : delete_keys) updated.properties.erase(k);
    KITE_ASSIGN_OR_RETURN(updated.update_ts, tso_->Alloc());
    return Persist(std::move(updated));
  }

  // Milvus 2.6 alterCollectionTask.PreExecute (validatePartitionKeyIsolation):
  // isolation needs a partition key, and it cannot change while a vector
  // field has an index (Kite checks this when the key is set or deleted).
  Status CheckIsolationChange(const CollectionInfo& c, const std::map<std::string, std::string>& set,
                              const std::vector<std::string>& delete_keys) {
    const bool touched = set.count(kPartitionKeyIsolationKey) != 0 ||
                         std::find(delete_keys.begin(), delete_keys.end(), kPartitionKeyIsolationKey) !=
                             delete_keys.end();
    if (!touched) return Status::OK();
    KITE_RETURN_IF_ERROR(CheckIsolationHasPartitionKey(set, c.schema));
    KITE_ASSIGN_OR_RETURN(bool new_value, PartitionKeyIsolationEnabled(set));
    KITE_ASSIGN_OR_RETURN(bool old_value, PartitionKeyIsolationEnabled(c.properties));
    if (old_value == new_value) return Status::OK();
    for (const auto& [iid, idx] : indexes_) {
      if (idx.collection_id != c.id) continue;
      const FieldSchema* f = c.schema.FindField(idx.field_id);
      if (f != nullptr && IsVectorType(f->type)) {
        return MakeStatus(StatusCode::kFailedPrecondition, Reason::kIndexDuplicate,
                          "can not alter partition key isolation mode if the collection already has a vector index. "
                          "Please drop the index first: index duplicates[indexName={}]",
                          f->name);
      }
    }
    return Status::OK();
  }

  Status AddCollectionField(const std::string& db_name, const std::string& name, const FieldSchema& field) override {
    std::lock_guard lock(mu_);
    KITE_ASSIGN_OR_RETURN(DatabaseInfo * db, GetDb(db_name));
    KITE_ASSIGN_OR_RETURN(CollectionInfo * c, GetColl(*db, name));
    KITE_RETURN_IF_ERROR(ValidateAddedField(c->schema, field, limits_));
    CollectionInfo updated = *c;
    int64_t next_id = kFirstUserFieldId;
    for (const auto& f : updated.schema.fields) next_id = std::max(next_id, f.id.value + 1);
    for (const auto& st : updated.schema.structs) next_id = std::max(next_id, st.id.value + 1);
    FieldSchema added = field;
    added.id = FieldId(next_id);
    updated.schema.fields.push_back(std::move(added));
    KITE_ASSIGN_OR_RETURN(updated.update_ts, tso_->Alloc());
    return Persist(std::move(updated));
  }

  Status AlterCollectionField(const std::string& db_name, const std::string& name, const std::string& field_name,
                              const std::map<std::string, std::string>& set_in,
                              const std::vector<std::string>& delete_keys_in) override {
    std::lock_guard lock(mu_);
    KITE_ASSIGN_OR_RETURN(DatabaseInfo * db, GetDb(db_name));
    KITE_ASSIGN_OR_RETURN(CollectionInfo * c, GetColl(*db, name));
    // Milvus 2.6 alterCollectionFieldTask.PreExecute: the old key
    // `mmap_enabled` is `mmap.enabled`; each key is checked in turn.
    auto canonical = [](const std::string& k) { return k == "mmap_enabled" ? std::string("mmap.enabled") : k; };
    std::map<std::string, std::string> set;
    for (const auto& [k, v] : set_in) set[canonical(k)] = v;
    const FieldSchema* f = c->schema.FindField(field_name);
    if (f && f->is_dynamic) f = nullptr;
    const bool loaded = c->load_state() != LoadState::kNotLoad;
    for (const auto& [k, v] : set) {
      if (k != "max_length" && k != "mmap.enabled" && k != "max_capacity") {
        return InvalidArgument("{} does not allow update in collection field param: invalid parameter", k);
      }
      if (k == "mmap.enabled" && loaded) {
        return MakeStatus(StatusCode::kFailedPrecondition, Reason::kCollectionLoaded,
                          "can not alter collection field properties if collection loaded: collection already "
                          "loaded[collection={}]",
                          c->schema.name);
      }
      if (k == "max_length") {
        const bool is_string = f && (f->type == DataType::kVarChar ||
                                     (f->type == DataType::kArray && f->element_type == DataType::kVarChar));
        // Milvus names the field only when it is a string field, so the text starts with a blank here.
        if (!is_string) return InvalidArgument(" can not modify the maxlength for non-string types: invalid parameter");
        int64_t value = 0;
        if (!ParseInt64(v, &value) || value < INT32_MIN || value > INT32_MAX) {
          return InvalidArgument("max_length should be an integer, but got string: invalid parameter");
        }
        if (value > limits_.max_varchar_length) {
          return InvalidArgument("{} exceeds the maximum allowed value {}: invalid parameter", v,
                                 limits_.max_varchar_length);
        }
        if (value <= 0) {
          return InvalidArgument("the maximum length specified for the field({}) should be in (0, {}], but got {} "
                                 "instead: invalid parameter",
                                 f->name, limits_.max_varchar_length, v);
        }
      }
      if (k == "max_capacity") {
        if (!f || f->type != DataType::kArray) {
          return InvalidArgument(" can not modify the maxcapacity for non-array types: invalid parameter");
        }
        int64_t value = 0;
        if (!ParseInt64(v, &value)) {
          return InvalidArgument("the value for max_capacity of field {} must be an integer: invalid parameter",
                                 f->name);
        }
        if (value > limits_.max_array_capacity || value <= 0) {
          return InvalidArgument("the maximum capacity specified for a Array should be in (0, {}]: invalid parameter",
                                 limits_.max_array_capacity);
        }
      }
      if (k == "mmap.enabled") {
        std::string lower = v;
        for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        if (lower != "true" && lower != "false") {
          return InvalidArgument("invalid mmap.enabled value: {}, expected: true, false: invalid parameter", v);
        }
      }
    }
    std::vector<std::string> delete_keys;
    for (const auto& k : delete_keys_in) {
      if (canonical(k) != "mmap.enabled") {
        return InvalidArgument("{} is not allowed to drop in collection field param: invalid parameter", k);
      }
      if (loaded) {
        return MakeStatus(StatusCode::kFailedPrecondition, Reason::kCollectionLoaded,
                          "can not drop collection field properties if collection loaded: collection already "
                          "loaded[collection={}]",
                          c->schema.name);
      }
      delete_keys.push_back(canonical(k));
    }
    // An Array of Structs field takes its own properties too (mmap.enabled;
    // max_length and max_capacity were refused above for want of a field).
    const StructFieldSchema* st = f ? nullptr : c->schema.FindStruct(field_name);
    if (!f && !st) {
      return MakeStatus(StatusCode::kNotFound, Reason::kFieldNotFound, "field not found[field={}]", field_name);
    }
    CollectionInfo updated = *c;
    std::map<std::string, std::string>* params = nullptr;
    for (auto& x : updated.schema.fields) {
      if (f && x.id == f->id) params = &x.type_params;
    }
    for (auto& x : updated.schema.structs) {
      if (st && x.id == st->id) params = &x.type_params;
    }
    for (const auto& [k, v] : set) {
      std::string value = v;
      if (k == "mmap.enabled") {
        for (char& ch : value) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      }
      (*params)[k] = value;
    }
    for (const auto& k : delete_keys) params->erase(k);
    KITE_ASSIGN_OR_RETURN(updated.update_ts, tso_->Alloc());
    return Persist(std::move(updated));
  }

  // --------------------------------------------------------------- partitions
  Status CreatePartition(const std::string& db_name, const std::string& coll, const std::string& name) override {
    KITE_RETURN_IF_ERROR(ValidatePartitionName(name, limits_));
    std::lock_guard lock(mu_);
    KITE_ASSIGN_OR_RETURN(DatabaseInfo * db, GetDb(db_name));
    KITE_ASSIGN_OR_RETURN(CollectionInfo * c, GetColl(*db, coll));
    if (c->num_partitions > 0) return InvalidArgument("disable create partition if partition key mode is used");
    if (c->FindPartition(name)) return Status::OK();  // Milvus: creating an existing partition succeeds
    if (static_cast<int>(c->partitions.size()) >= limits_.max_partition_num) {
      return InvalidArgument("partition number ({}) exceeds max configuration ({}), collection: {}",
                             c->partitions.size(), limits_.max_partition_num, c->schema.name);
    }
    CollectionInfo updated = *c;
    KITE_ASSIGN_OR_RETURN(int64_t pid, ids_->Alloc());
    KITE_ASSIGN_OR_RETURN(Timestamp ts, tso_->Alloc());
    updated.partitions.push_back({PartitionId(pid), name, ts, c->load_requested});
    return Persist(std::move(updated));
  }

  Status DropPartition(const std::string& db_name, const std::string& coll, const std::string& name) override {
    std::lock_guard lock(mu_);
    KITE_ASSIGN_OR_RETURN(DatabaseInfo * db, GetDb(db_name));
    KITE_ASSIGN_OR_RETURN(CollectionInfo * c, GetColl(*db, coll));
    // Milvus's order: dropPartitionTask.PreExecute (partition key, a missing
    // partition, a loaded one), then rootcoord (the default partition); each
    // a plain error (65535).
    if (c->num_partitions > 0) return Unclassified("disable drop partition if partition key mode is used");
    const PartitionInfo* p = c->FindPartition(name);
    if (!p) return Status::OK();  // Milvus: dropping a missing partition succeeds
    if (p->loaded) return Unclassified("partition cannot be dropped, partition is loaded, please release it first");
    if (name == kDefaultPartitionName) return Unclassified("default partition cannot be deleted");
    CollectionInfo updated = *c;
    std::erase_if(updated.partitions, [&](const PartitionInfo& x) { return x.name == name; });
    return Persist(std::move(updated));
  }

  // ------------------------------------------------------------------ aliases
  Status CreateAlias(const std::string& db_name, const std::string& coll, const std::string& alias) override {
    // Milvus's CreateAliasTask.PreExecute: the alias, then the collection name.
    KITE_RETURN_IF_ERROR(ValidateCollectionName(alias, "alias", limits_));
    KITE_RETURN_IF_ERROR(ValidateCollectionName(coll, "name", limits_));
    std::lock_guard lock(mu_);
    KITE_ASSIGN_OR_RETURN(DatabaseInfo * db, GetDb(db_name));
    if (FindColl(db->id, alias, /*allow_alias=*/false)) {
      return MakeStatus(StatusCode::kAlreadyExists, Reason::kAliasNameConflict,
                        "alias and collection name conflict[database={}][alias={}]", db->name, alias);
    }
    CollectionInfo* c = FindColl(db->id, coll, /*allow_alias=*/false);
    if (!c) {
      if (aliases_.count({db->id.value, coll})) {
        return InvalidArgument("cannot create alias {} on alias {}", alias, coll);
      }
      return CollectionNotFound(db->name, coll);
    }
    auto it = aliases_.find({db->id.value, alias});
    if (it != aliases_.end()) {
      if (it->second == c->id.value) return Status::OK();
      // Milvus 2.6 (MetaTable.CheckIfAliasCreatable): merr.WrapErrAliasAlreadyExist with a message.
      return MakeStatus(StatusCode::kAlreadyExists, Reason::kAliasExists,
                        "{} is alias to another collection: {}: alias already exist[database={}][alias={}]", alias,
                        colls_.at(it->second).schema.name, db->name, alias);
    }
    MetaBatch b;
    b.Put(AliasKey(db->id, alias), std::to_string(c->id.value));
    KITE_RETURN_IF_ERROR(meta_->Commit(b));
    aliases_[{db->id.value, alias}] = c->id.value;
    return Status::OK();
  }

  Status AlterAlias(const std::string& db_name, const std::string& coll, const std::string& alias) override {
    KITE_RETURN_IF_ERROR(ValidateCollectionName(alias, "alias", limits_));
    KITE_RETURN_IF_ERROR(ValidateCollectionName(coll, "name", limits_));
    std::lock_guard lock(mu_);
    KITE_ASSIGN_OR_RETURN(DatabaseInfo * db, GetDb(db_name));
    // Milvus 2.6 MetaTable.CheckIfAliasAlterable, in its order.
    if (FindColl(db->id, alias, /*allow_alias=*/false)) {
      return MakeStatus(StatusCode::kAlreadyExists, Reason::kAliasNameConflict,
                        "alias and collection name conflict[database={}][alias={}]", db->name, alias);
    }
    CollectionInfo* c = FindColl(db->id, coll, /*allow_alias=*/false);
    if (!c) {
      return MakeStatus(StatusCode::kNotFound, Reason::kCollectionNotFound, "collection not found[collection={}]", coll);
    }
    if (!aliases_.count({db->id.value, alias})) return AliasNotFound(db->name, alias);
    MetaBatch b;
    b.Put(AliasKey(db->id, alias), std::to_string(c->id.value));
    KITE_RETURN_IF_ERROR(meta_->Commit(b));
    aliases_[{db->id.value, alias}] = c->id.value;
    return Status::OK();
  }

  Status DropAlias(const std::string& db_name, const std::string& alias) override {
    KITE_RETURN_IF_ERROR(ValidateCollectionName(alias, "alias", limits_));
    std::lock_guard lock(mu_);
    KITE_ASSIGN_OR_RETURN(DatabaseInfo * db, GetDb(db_name));
    if (!aliases_.count({db->id.value, alias})) return Status::OK();  // Milvus: idempotent
    MetaBatch b;
    b.Delete(AliasKey(db->id, alias));
    KITE_RETURN_IF_ERROR(meta_->Commit(b));
    aliases_.erase({db->id.value, alias});
    return Status::OK();
  }

  Result<AliasInfo> DescribeAlias(const std::string& db_name, const std::string& alias) override {
    KITE_RETURN_IF_ERROR(ValidateCollectionName(alias, "alias", limits_));
    std::lock_guard lock(mu_);
    KITE_ASSIGN_OR_RETURN(DatabaseInfo * db, GetDb(db_name));
    auto it = aliases_.find({db->id.value, alias});
    if (it == aliases_.end()) return AliasNotFound(db->name, alias);
    return AliasInfo{db->name, alias, colls_.at(it->second).schema.name};
  }

  Result<std::vector<std::string>> ListAliases(const std::string& db_name, const std::string& coll) override {
    if (!coll.empty()) KITE_RETURN_IF_ERROR(ValidateCollectionName(coll, "name", limits_));
    std::lock_guard lock(mu_);
    KITE_ASSIGN_OR_RETURN(DatabaseInfo * db, GetDb(db_name));
    std::vector<std::string> out;
    if (!coll.empty()) {
      // Milvus 2.6 MetaTable.ListAliases: merr.WrapErrCollectionNotFound(name), no database.
      CollectionInfo* c = FindColl(db->id, coll, /*allow_alias=*/false);
      if (!c) {
        return MakeStatus(StatusCode::kNotFound, Reason::kCollectionNotFound, "collection not found[collection={}]",
                          coll);
      }
      return AliasesOf(*c);
    }
    for (const auto& [key, cid] : aliases_) {
      if (key.first == db->id.value) out.push_back(key.second);
    }
    return out;
  }

  // ------------------------------------------------------------------ indexes
  Status CreateIndex(const CreateIndexParams& p) override {
    std::lock_guard lock(mu_);
    KITE_ASSIGN_OR_RETURN(DatabaseInfo * db, GetDb(p.db));
    KITE_ASSIGN_OR_RETURN(CollectionInfo * c, GetColl(*db, p.collection));
    const FieldSchema* f = c->schema.FindField(p.field_name);
    ParamMap user_params = p.params;
    if (!f || f->is_dynamic) {
      // Milvus 2.6: a JSON path index on a key of the dynamic field names the
      // key (or `$meta`) as its field; the path defaults to that name.
      const FieldSchema* dyn = c->schema.DynamicField();
      const bool json_index = p.params.count("json_cast_type") || p.params.count("json_path");
      if (!dyn || !json_index) {
        return MakeStatus(StatusCode::kNotFound, Reason::kFieldNotFound, "field not found[field={}]", p.field_name);
      }
      if (!user_params.count("json_path")) user_params["json_path"] = p.field_name;
      f = dyn;
    }
    KITE_ASSIGN_OR_RETURN(auto resolved, ResolveIndexParams(*f, user_params));
    const bool json_path_index = IsJsonPathIndex(resolved);
    // A JSON path index without a name is named after its field and path, so
    // that several paths of one field get distinct names.
    std::string name = p.index_name;
    if (name.empty()) name = json_path_index ? f->name + resolved.at("json_pointer") : f->name;
    for (const auto& [iid, idx] : indexes_) {
      if (idx.collection_id != c->id) continue;
      if (idx.field_id == f->id) {
        if (idx.name == name && idx.user_params == user_params) return Status::OK();  // idempotent
        // Milvus 2.6: a JSON field holds one index per path.
        const bool other_path = json_path_index && IsJsonPathIndex(idx.resolved_params) &&
                                idx.resolved_params.at("json_pointer") != resolved.at("json_pointer");
        if (!other_path || idx.name == name) {
          return MakeStatus(StatusCode::kAlreadyExists, Reason::kIndexDuplicate,
                            "CreateIndex failed: at most one distinct index is allowed per field");
        }
        continue;
      }
      if (idx.name == name) {
        return MakeStatus(StatusCode::kAlreadyExists, Reason::kIndexDuplicate,
                          "CreateIndex failed: index already exist, but parameters are inconsistent");
      }
    }
    KITE_ASSIGN_OR_RETURN(int64_t iid, ids_->Alloc());
    KITE_ASSIGN_OR_RETURN(Timestamp ts, tso_->Alloc());
    IndexInfo idx{IndexId(iid), c->id, f->id, name, std::move(user_params), std::move(resolved), ts};
    MetaBatch b;
    b.Put(IndexKey(idx), EncodeIndex(idx));
    KITE_RETURN_IF_ERROR(meta_->Commit(b));
    indexes_[iid] = std::move(idx);
    return Status::OK();
  }

  Result<std::vector<IndexInfo>> DescribeIndex(const std::string& db_name, const std::string& coll,
                                               const std::string& field_name, const std::string& index_name) override {
    std::lock_guard lock(mu_);
    KITE_ASSIGN_OR_RETURN(DatabaseInfo * db, GetDb(db_name));
    KITE_ASSIGN_OR_RETURN(CollectionInfo * c, GetColl(*db, coll));
    std::vector<IndexInfo> out = MatchIndexes(*c, field_name, index_name);
    if (out.empty()) {
      return MakeStatus(StatusCode::kNotFound, Reason::kIndexNotFound, "index not found[collection={}]{}",
                        c->schema.name, index_name.empty() ? "" : fmt::format("[indexName={}]", index_name));
    }
    return out;
  }

  Status DropIndex(const std::string& db_name, const std::string& coll, const std::string& field_name,
                   const std::string& index_name) override {
    std::lock_guard lock(mu_);
    KITE_ASSIGN_OR_RETURN(DatabaseInfo * db, GetDb(db_name));
    KITE_ASSIGN_OR_RETURN(CollectionInfo * c, GetColl(*db, coll));
    std::vector<IndexInfo> found = MatchIndexes(*c, field_name, index_name);
    if (found.empty()) return Status::OK();  // Milvus: dropping a missing index succeeds
    if (found.size() > 1) {
      return InvalidArgument("there are multiple indexes, please specify the index_name");
    }
    if (c->load_state() == LoadState::kLoaded) {
      const FieldSchema* f = c->schema.FindField(found[0].field_id);
      if (f && IsVectorType(f->type)) {
        // dropIndexTask.PreExecute: errors.New (65535).
        return MakeStatus(StatusCode::kFailedPrecondition, Reason::kUnclassified,
                          "index cannot be dropped, collection is loaded, please release it first");
      }
    }
    MetaBatch b;
    b.Delete(IndexKey(found[0]));
    KITE_RETURN_IF_ERROR(meta_->Commit(b));
    indexes_.erase(found[0].id.value);
    return Status::OK();
  }

  Status AlterIndex(const std::string& db_name, const std::string& coll, const std::string& index_name,
                    const std::map<std::string, std::string>& set,
                    const std::vector<std::string>& delete_keys) override {
    std::lock_guard lock(mu_);
    KITE_ASSIGN_OR_RETURN(DatabaseInfo * db, GetDb(db_name));
    KITE_ASSIGN_OR_RETURN(CollectionInfo * c, GetColl(*db, coll));
    // Milvus 2.6 alterIndexTask.PreExecute, then datacoord's value checks.
    // The key refusal carries datacoord's text (typo included), which
    // Milvus's suites assert for alter_index_properties / drop_index_properties.
    static const std::set<std::string> kAlterable = {"mmap.enabled", "index.offsetCache.enabled"};
    for (const auto& [k, v] : set) {
      if (!kAlterable.count(k)) return InvalidArgument("{} is not a configable index proptery: invalid parameter", k);
    }
    for (const auto& k : delete_keys) {
      if (!kAlterable.count(k)) return InvalidArgument("{} is not a configable index proptery: invalid parameter", k);
    }
    if (!set.empty() && !delete_keys.empty()) {
      return InvalidArgument("cannot provide both DeleteKeys and ExtraParams: invalid parameter");
    }
    if (index_name.empty()) return InvalidArgument("index name is empty: invalid parameter");
    if (c->load_state() != LoadState::kNotLoad) {
      return MakeStatus(StatusCode::kFailedPrecondition, Reason::kCollectionLoaded,
                        "can't alter index on loaded collection, please release the collection first: collection "
                        "already loaded[collection={}]",
                        c->schema.name);
    }
    std::vector<IndexInfo> found = MatchIndexes(*c, "", index_name);
    if (found.empty()) {
      return MakeStatus(StatusCode::kNotFound, Reason::kIndexNotFound, "index not found[indexName={}]", index_name);
    }
    for (const auto& [k, v] : set) {
      if (k != "mmap.enabled" && k != "index.offsetCache.enabled") continue;
      std::string lower = v;
      for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (lower != "true" && lower != "false") {
        return Unclassified("invalid {} value: {}, expected: true, false", k, v);
      }
    }
    IndexInfo idx = found[0];
    for (const auto& [k, v] : set) idx.user_params[k] = v, idx.resolved_params[k] = v;
    for (const auto& k : delete_keys) idx.user_params.erase(k), idx.resolved_params.erase(k);
    MetaBatch b;
    b.Put(IndexKey(idx), EncodeIndex(idx));
    KITE_RETURN_IF_ERROR(meta_->Commit(b));
    indexes_[idx.id.value] = std::move(idx);
    return Status::OK();
  }

  // --------------------------------------------------------------------- load
  Status Load(const std::string& db_name, const std::string& coll,
              const std::vector<std::string>& partitions) override {
    std::lock_guard lock(mu_);
    KITE_ASSIGN_OR_RETURN(DatabaseInfo * db, GetDb(db_name));
    KITE_ASSIGN_OR_RETURN(CollectionInfo * c, GetColl(*db, coll));
    std::vector<const FieldSchema*> must_index = c->schema.VectorFields();
    for (const auto& f : c->schema.fields) {  // struct vector sub-fields too (Milvus 2.6)
      if (f.type == DataType::kArrayOfVector) must_index.push_back(&f);
    }
    // A collection without any index is refused by Milvus's index lookup
    // itself (merr.WrapErrIndexNotFoundForCollection), before the per-field check.
    if (!must_index.empty() && MatchIndexes(*c, "", "").empty()) {
      return MakeStatus(StatusCode::kNotFound, Reason::kIndexNotFound, "index not found[collection={}]", coll);
    }
    for (const FieldSchema* f : must_index) {
      if (MatchIndexes(*c, f->name, "").empty()) {
        return MakeStatus(StatusCode::kNotFound, Reason::kIndexNotFound,
                          "there is no vector index on field: [{}], please create index firstly: collection={}: "
                          "index not found",
                          f->name, c->schema.name);
      }
    }
    CollectionInfo updated = *c;
    if (partitions.empty()) {
      updated.load_requested = true;
      for (auto& p : updated.partitions) p.loaded = true;
    } else {
      for (const auto& name : partitions) {
        auto it = std::find_if(updated.partitions.begin(), updated.partitions.end(),
                               [&](const PartitionInfo& p) { return p.name == name; });
        if (it == updated.partitions.end()) return PartitionNotFound(name);
        it->loaded = true;
      }
    }
    return Persist(std::move(updated));
  }

  Status Release(const std::string& db_name, const std::string& coll,
                 const std::vector<std::string>& partitions) override {
    std::lock_guard lock(mu_);
    KITE_ASSIGN_OR_RETURN(DatabaseInfo * db, GetDb(db_name));
    KITE_ASSIGN_OR_RETURN(CollectionInfo * c, GetColl(*db, coll));
    CollectionInfo updated = *c;
    if (partitions.empty()) {
      updated.load_requested = false;
      for (auto& p : updated.partitions) p.loaded = false;
    } else {
      for (const auto& name : partitions) {
        auto it = std::find_if(updated.partitions.begin(), updated.partitions.end(),
                               [&](const PartitionInfo& p) { return p.name == name; });
        if (it == updated.partitions.end()) return PartitionNotFound(name);
        it->loaded = false;
      }
      updated.load_requested = std::all_of(updated.partitions.begin(), updated.partitions.end(),
                                           [](const PartitionInfo& p) { return p.loaded; });
    }
    return Persist(std::move(updated));
  }

  Result<LoadProgress> GetLoadProgress(const std::string& db_name, const std::string& coll,
                                       const std::vector<std::string>& partitions) override {
    std::lock_guard lock(mu_);
    KITE_ASSIGN_OR_RETURN(DatabaseInfo * db, GetDb(db_name));
    KITE_ASSIGN_OR_RETURN(CollectionInfo * c, GetColl(*db, coll));
    if (partitions.empty()) {
      LoadState s = c->load_state();
      return LoadProgress{s, s == LoadState::kLoaded ? 100 : 0};
    }
    bool all = true;
    for (const auto& name : partitions) {
      const PartitionInfo* p = c->FindPartition(name);
      if (!p) return PartitionNotFound(name);
      all = all && p->loaded;
    }
    return LoadProgress{all ? LoadState::kLoaded : LoadState::kNotLoad, all ? 100 : 0};
  }

 private:
  Status LoadPrefix(const char* prefix, const std::function<Status(const std::string&)>& fn) {
    Status inner;
    Status st = meta_->Scan(prefix, [&](std::string_view, std::string_view v) {
      if (inner.ok()) inner = fn(std::string(v));
    });
    KITE_RETURN_IF_ERROR(st);
    return inner;
  }

  DatabaseInfo* FindDb(const std::string& name) {
    const std::string& n = DbOrDefault(name);
    for (auto& [id, db] : dbs_) {
      if (db.name == n) return &db;
    }
    return nullptr;
  }
  Result<DatabaseInfo*> GetDb(const std::string& name) {
    DatabaseInfo* db = FindDb(name);
    if (!db) {
      return MakeStatus(StatusCode::kNotFound, Reason::kDatabaseNotFound, "database not found[database={}]",
                        DbOrDefault(name));
    }
    return db;
  }
  CollectionInfo* FindColl(DatabaseId db, const std::string& name, bool allow_alias) {
    for (auto& [id, c] : colls_) {
      if (c.db_id == db && c.schema.name == name) return &c;
    }
    if (allow_alias) {
      auto it = aliases_.find({db.value, name});
      if (it != aliases_.end()) return &colls_.at(it->second);
    }
    return nullptr;
  }
  Result<CollectionInfo*> GetColl(const DatabaseInfo& db, const std::string& name) {
    CollectionInfo* c = FindColl(db.id, name, /*allow_alias=*/true);
    if (!c) return CollectionNotFound(db.name, name);
    return c;
  }
  std::vector<std::string> AliasesOf(const CollectionInfo& c) const {
    std::vector<std::string> out;
    for (const auto& [key, cid] : aliases_) {
      if (cid == c.id.value) out.push_back(key.second);
    }
    return out;
  }
  CollectionView View(const CollectionInfo& c) const {
    return CollectionView{c, dbs_.at(c.db_id.value).name, AliasesOf(c)};
  }
  std::vector<IndexInfo> MatchIndexes(const CollectionInfo& c, const std::string& field_name,
                                      const std::string& index_name) const {
    std::vector<IndexInfo> out;
    for (const auto& [iid, idx] : indexes_) {
      if (idx.collection_id != c.id) continue;
      if (!index_name.empty() && idx.name != index_name) continue;
      if (!field_name.empty()) {
        const FieldSchema* f = c.schema.FindField(idx.field_id);
        if (!f || f->name != field_name) continue;
      }
      out.push_back(idx);
    }
    return out;
  }
  static Status PartitionNotFound(const std::string& name) {
    return MakeStatus(StatusCode::kNotFound, Reason::kPartitionNotFound, "partition not found[partition={}]", name);
  }
  static Status AliasNotFound(const std::string& db, const std::string& alias) {
    return MakeStatus(StatusCode::kNotFound, Reason::kAliasNotFound, "alias not found[database={}][alias={}]", db,
                      alias);
  }
  // Writes a collection record, then replaces the in-memory copy.
  Status Persist(CollectionInfo updated) {
    MetaBatch b;
    b.Put(CollKey(updated.id), EncodeCollection(updated));
    KITE_RETURN_IF_ERROR(meta_->Commit(b));
    colls_[updated.id.value] = std::move(updated);
    return Status::OK();
  }

  MetaStore* meta_;
  Limits limits_;
  std::unique_ptr<Tso> tso_;
  std::unique_ptr<IdAllocator> ids_;
  std::mutex mu_;
  std::map<int64_t, DatabaseInfo> dbs_;
  std::map<int64_t, CollectionInfo> colls_;
  std::map<std::pair<int64_t, std::string>, int64_t> aliases_;
  std::map<int64_t, IndexInfo> indexes_;
};

}  // namespace

Result<std::unique_ptr<CoordinatorApi>> OpenCoordinator(MetaStore* meta, const Limits& limits) {
  KITE_ASSIGN_OR_RETURN(auto tso, Tso::Open(meta));
  KITE_ASSIGN_OR_RETURN(auto ids, IdAllocator::Open(meta));
  auto c = std::make_unique<Coordinator>(meta, limits, std::move(tso), std::move(ids));
  KITE_RETURN_IF_ERROR(c->Load());
  return std::unique_ptr<CoordinatorApi>(std::move(c));
}

}  // namespace kite
