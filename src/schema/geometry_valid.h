// ST_ISVALID's test, kept out of geometry.h (which most of the tree includes)
// so that adding it rebuilt only its users. Thread-safe (GEOS, one context per
// thread, as geometry.h).
#pragma once

#include <string_view>

namespace kite::geo {

// Whether the WKB value is a valid geometry in the OGC sense (GEOSisValid:
// rings closed and not self-intersecting, ...); false for unreadable bytes.
bool IsValidWkb(std::string_view wkb);

}  // namespace kite::geo
