// Reads the cluster session keys (common.session.ttl, common.session.retryTimes;
// config.h lists them) from a parsed YAML file. Internal to server/config.cc.
#pragma once

#include <yaml-cpp/yaml.h>

#include "server/config.h"

namespace kite {

Status LoadSessionConfig(const YAML::Node& root, SessionConfig* config);

}  // namespace kite
