// Reads the WAL engine's keys (mq.*, kafka.*, msgChannel.chanNamePrefix.cluster;
// config.h lists them) from a parsed YAML file. Internal to server/config.cc.
#pragma once

#include <yaml-cpp/yaml.h>

#include "server/config.h"

namespace kite {

Status LoadMqConfig(const YAML::Node& root, ServerConfig* config);

}  // namespace kite
