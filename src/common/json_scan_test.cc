#include "common/json_scan.h"

#include <gtest/gtest.h>

#include <string>

namespace kite {
namespace {

TEST(JsonNestingDepth, CountsArraysAndObjects) {
  EXPECT_EQ(JsonNestingDepth("1", 100), 0);
  EXPECT_EQ(JsonNestingDepth("\"x\"", 100), 0);
  EXPECT_EQ(JsonNestingDepth("[]", 100), 1);
  EXPECT_EQ(JsonNestingDepth("[{}]", 100), 2);
  EXPECT_EQ(JsonNestingDepth(R"({"a": [1, {"b": [[]]}], "c": {}})", 100), 5);
}

TEST(JsonNestingDepth, SkipsStringsWithEscapes) {
  EXPECT_EQ(JsonNestingDepth(R"({"s": "[[[[{{{"})", 100), 1);
  EXPECT_EQ(JsonNestingDepth(R"(["\"[[[", "\\", [1]])", 100), 2);
}

TEST(JsonNestingDepth, StopsAboveTheLimitAndSaysWhere) {
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  size_t at = 0;
  EXPECT_EQ(JsonNestingDepth(deep, 1024, &at), 1025);
  EXPECT_EQ(at, 1024u);
  EXPECT_EQ(JsonNestingDepth(deep.substr(0, 1024) + deep.substr(deep.size() - 1024), 1024), 1024);
}

TEST(JsonNestingDepth, UnbalancedInputDoesNotUnderflow) {
  EXPECT_EQ(JsonNestingDepth("]]]][", 10), 1);
  EXPECT_EQ(JsonNestingDepth("", 10), 0);
}

}  // namespace
}  // namespace kite
