#include "server/config_session.h"

namespace kite {

Status LoadSessionConfig(const YAML::Node& root, SessionConfig* c) {
  YAML::Node common = root["common"];
  YAML::Node session = common && common.IsMap() ? common["session"] : YAML::Node();
  if (!session || session.IsNull()) return Status::OK();
  if (!session.IsMap()) return InvalidArgument("config section common.session is not a mapping");
  struct {
    const char* key;
    int64_t* out;
    const char* unit;
  } keys[] = {{"ttl", &c->ttl_s, " second"}, {"retryTimes", &c->retry_times, ""}};
  for (const auto& k : keys) {
    YAML::Node v = session[k.key];
    if (!v) continue;
    try {
      *k.out = v.as<int64_t>();
    } catch (const YAML::Exception&) {
      return InvalidArgument("config key common.session.{}: '{}' is not a whole number", k.key,
                             v.IsScalar() ? v.Scalar() : std::string("(not a scalar)"));
    }
    if (*k.out < 1) return InvalidArgument("config key common.session.{}: {} is below 1{}", k.key, *k.out, k.unit);
  }
  return Status::OK();
}

}  // namespace kite
