// Splits optimized for clicks or conversions: warm-up by the written weights, then each
// variant's chance is its probability of being best, with a floor; the logged probability
// is the share of buckets that lead to the variant.

#include "engine/adaptive_split.hpp"

#include <doctest/doctest.h>

#include <map>

using namespace cvmd;

namespace {

dsl::Step
optimized_split(std::vector<std::pair<std::string, double>> weights, int warmup)
{
  dsl::Step step;
  step.kind = dsl::Step::Kind::split;
  step.split_name = "offer";
  step.optimize = dsl::Step::Optimize::conversions;
  step.warmup = warmup;
  for (const auto& [name, weight] : weights) {
    dsl::SplitVariant v;
    v.name = name;
    v.weight = weight;
    step.variants.push_back(v);
  }
  return step;
}

// Over evenly spread buckets: the share each variant gets, and the probability logged with it.
std::map<std::string, std::pair<double, double>>
shares(AdaptiveSplits& splits, const dsl::Step& step)
{
  std::map<std::string, std::pair<double, double>> out;
  constexpr int n = 100000;
  for (int b = 0; b < n; ++b) {
    const auto choice = splits.choose("s", step, 100.0 * (b + 0.5) / n);
    out[choice.variant->name].first += 1.0 / n;
    out[choice.variant->name].second = choice.probability;
  }
  return out;
}

} // namespace

TEST_SUITE("experiments")
{
  TEST_CASE("during the warm-up variants get their written weights")
  {
    AdaptiveSplits splits;
    const auto step = optimized_split({{"a", 30}, {"b", 70}}, 10);
    for (int i = 0; i < 9; ++i) {
      splits.add_history("s", "offer", "a", false);
      splits.add_history("s", "offer", "b", true);
    }
    const auto got = shares(splits, step);
    CHECK(got.at("a").first == doctest::Approx(0.3).epsilon(0.001));
    CHECK(got.at("a").second == doctest::Approx(0.3));
    CHECK(got.at("b").second == doctest::Approx(0.7));
    CHECK_FALSE(splits.choose("s", step, 50).adaptive);
  }

  TEST_CASE("after the warm-up the better variant gets most customers, the other keeps the floor")
  {
    AdaptiveSplits splits;
    const auto step = optimized_split({{"good", 50}, {"poor", 50}}, 100);
    for (int i = 0; i < 200; ++i) {
      splits.add_history("s", "offer", "good", i % 2 == 0); // 50%
      splits.add_history("s", "offer", "poor", i % 10 == 0); // 10%
    }
    const auto got = shares(splits, step);
    CHECK(splits.choose("s", step, 50).adaptive);
    CHECK(got.at("poor").second == doctest::Approx(AdaptiveSplits::floor(2)).epsilon(0.001));
    CHECK(got.at("good").second == doctest::Approx(1 - AdaptiveSplits::floor(2)).epsilon(0.001));
    // the logged probability is the share of buckets that lead there
    for (const auto& [name, share] : got) {
      CHECK(share.first == doctest::Approx(share.second).epsilon(0.001));
    }
  }

  TEST_CASE("equal evidence splits evenly, and a 0% variant never takes anyone")
  {
    AdaptiveSplits splits;
    const auto step = optimized_split({{"a", 50}, {"b", 50}, {"off", 0}}, 5);
    for (int i = 0; i < 20; ++i) {
      splits.add_history("s", "offer", "a", i % 4 == 0);
      splits.add_history("s", "offer", "b", i % 4 == 0);
    }
    const auto got = shares(splits, step);
    CHECK(got.count("off") == 0);
    CHECK(got.at("a").second == doctest::Approx(0.5).epsilon(0.01));
    CHECK(got.at("b").first == doctest::Approx(0.5).epsilon(0.01));
  }

  TEST_CASE("successes counted as they happen move the allocation")
  {
    AdaptiveSplits splits;
    const auto step = optimized_split({{"a", 50}, {"b", 50}}, 20);
    for (int i = 0; i < 20; ++i) {
      splits.assigned("s", "offer", "a");
      splits.assigned("s", "offer", "b");
    }
    const double before = splits.choose("s", step, 1).probability;
    for (int i = 0; i < 10; ++i) {
      splits.succeeded("s", "offer", "b");
    }
    const auto after = shares(splits, step);
    CHECK(before == doctest::Approx(0.5).epsilon(0.01));
    CHECK(after.at("b").second > 0.9);
  }
}
