// JsonNestingDepth: how deeply a JSON text nests arrays and objects, found by
// one forward pass with a counter (no recursion, no allocation), so that text
// from a client can be bounded before any recursive parser, serializer or
// destructor sees it (issue 20 #13: one insert holding ~100k nested arrays
// overflowed the stack). Not a validator: it only skips strings (escape
// aware) and counts '[' '{' against ']' '}'; well-formedness is checked
// afterwards by a real parser. Thread-safe (pure function).
#pragma once

#include <cstddef>
#include <string_view>

namespace kite {

// The maximum nesting depth of `text` ("1" -> 0, "[]" -> 1, "[{}]" -> 2).
// Stops scanning once the depth exceeds `stop_above` and returns
// stop_above + 1, so a hostile input costs no more than the bytes up to that
// point; `stopped_at` (optional) then receives the offset of the bracket that
// went over.
int JsonNestingDepth(std::string_view text, int stop_above, size_t* stopped_at = nullptr);

}  // namespace kite
