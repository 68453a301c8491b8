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

}  // namespace
}  // namespace kite::text
