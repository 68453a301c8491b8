#include "text/match.h"

#include <gtest/gtest.h>

namespace kite::text {
namespace {

std::vector<Token> Toks(const std::string& text) {
  auto a = BuildAnalyzer("");
  EXPECT_TRUE(a.ok());
  return (*a)->Analyze(text);
}

TEST(TextMatch, AnyTermOrAtLeastN) {
  auto doc = Toks("Machine learning boosts efficiency");
  EXPECT_TRUE(TermsMatch(doc, {"learning", "absent"}, 1));
  EXPECT_FALSE(TermsMatch(doc, {"absent"}, 1));
  EXPECT_FALSE(TermsMatch(doc, {"learning", "absent"}, 2));
  EXPECT_TRUE(TermsMatch(doc, {"learning", "machine"}, 2));
  EXPECT_FALSE(TermsMatch(doc, {}, 1));
}

// The examples of Milvus's phrase-match documentation.
TEST(PhraseMatch, SlopAllowsGapsAndSwaps) {
  auto q = Toks("machine learning");
  EXPECT_TRUE(PhraseMatch(Toks("machine learning boosts efficiency"), q, 0));
  EXPECT_FALSE(PhraseMatch(Toks("machine deep learning"), q, 0));
  EXPECT_TRUE(PhraseMatch(Toks("machine deep learning"), q, 1));
  EXPECT_FALSE(PhraseMatch(Toks("learning machine"), q, 1));
  EXPECT_TRUE(PhraseMatch(Toks("learning machine"), q, 2));
  EXPECT_TRUE(PhraseMatch(Toks("deep learning machine models"), q, 2));
  EXPECT_FALSE(PhraseMatch(Toks("machine alone"), q, 5));
  EXPECT_TRUE(PhraseMatch(Toks("typical robotics machine learning models"), Toks("robotics machine learning"), 0));
}

// Optimal string alignment distance in code points: a swap of neighbours is
// one edit, but a swapped pair is not edited again (ca -> abc is 3, not 2).
TEST(FuzzyMatch, EditDistanceCountsCodePointsAndSwaps) {
  EXPECT_EQ(BoundedEditDistance(U"music", U"musc", 2), 1);
  EXPECT_EQ(BoundedEditDistance(U"music", U"muisc", 2), 1);
  EXPECT_EQ(BoundedEditDistance(U"football", U"fotbal", 2), 2);
  EXPECT_EQ(BoundedEditDistance(U"ca", U"abc", 5), 3);
  EXPECT_EQ(BoundedEditDistance(U"数据库", U"数库", 2), 1);
  EXPECT_GT(BoundedEditDistance(U"apple", U"orange", 2), 2);
}

TEST(FuzzyMatch, AnyDocumentTokenWithinTheDistance) {
  auto doc = Toks("allergy season, café");
  EXPECT_TRUE(FuzzyTermsMatch(doc, {"alergy"}, 1));
  EXPECT_FALSE(FuzzyTermsMatch(doc, {"alergy"}, 0));
  EXPECT_TRUE(FuzzyTermsMatch(doc, {"cafe"}, 1));  // é is one code point
  EXPECT_FALSE(FuzzyTermsMatch(doc, {}, 2));
}

}  // namespace
}  // namespace kite::text
