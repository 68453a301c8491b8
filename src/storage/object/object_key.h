// Object key rules shared by every ObjectStore (object_store.h): keys are
// '/'-separated relative paths of [A-Za-z0-9_.=-] segments, at most 1024
// bytes (S3's limit), no empty, '.' or '..' segment, segments of at most 255
// bytes (NAME_MAX, so the local store can hold them as files).
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace kite {

// InvalidArgument naming `what` ("key" / "prefix") and the value when `s`
// breaks a rule. A prefix's last segment may be partial (even empty).
Status ValidateObjectKey(std::string_view what, const std::string& s, bool is_prefix);

}  // namespace kite
