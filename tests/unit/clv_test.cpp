#include "engine/clv.hpp"

#include <doctest/doctest.h>

#include <random>

using namespace cvmd;

namespace {

// Draws customers from the BG/NBD story itself: a purchase rate from Gamma(r, alpha), a
// drop-out probability from Beta(a, b), purchases as a Poisson process, and after each
// purchase a coin with that probability decides whether the customer leaves for good.
std::vector<PurchaseSummary>
simulate_bgnbd(const BgNbd& truth, std::size_t customers, double max_age, std::uint64_t seed)
{
  std::mt19937_64 random(seed);
  std::gamma_distribution<double> rate(truth.r, 1.0 / truth.alpha);
  std::gamma_distribution<double> beta_a(truth.a, 1.0);
  std::gamma_distribution<double> beta_b(truth.b, 1.0);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  std::vector<PurchaseSummary> out;
  for (std::size_t i = 0; i < customers; ++i) {
    const double lambda = rate(random);
    const double ga = beta_a(random);
    const double p = ga / (ga + beta_b(random));
    PurchaseSummary s;
    s.T = max_age * (0.5 + 0.5 * uniform(random)); // first purchases spread over time
    double now = 0;
    while (true) {
      now += std::exponential_distribution<double>(lambda)(random);
      if (now > s.T) {
        break;
      }
      s.x += 1;
      s.t_x = now;
      if (uniform(random) < p) {
        break;
      }
    }
    out.push_back(s);
  }
  return out;
}

// Central differences in the logarithm of each parameter, as the analytic gradients are.
template<typename Model, typename Likelihood>
void
check_gradient(const Model& at, std::vector<double Model::*> fields, Likelihood likelihood)
{
  std::vector<double> gradient(fields.size());
  likelihood(at, gradient.data());
  for (std::size_t k = 0; k < fields.size(); ++k) {
    Model up = at, down = at;
    const double h = 1e-6;
    up.*fields[k] *= std::exp(h);
    down.*fields[k] *= std::exp(-h);
    const double numeric = (likelihood(up, nullptr) - likelihood(down, nullptr)) / (2 * h);
    CHECK(gradient[k] == doctest::Approx(numeric).epsilon(1e-5));
  }
}

} // namespace

TEST_SUITE("clv")
{
  TEST_CASE("the BG/NBD likelihood matches values computed by hand")
  {
    const BgNbd m{0.243, 4.414, 0.793, 2.426, 0};
    CHECK(bgnbd_log_likelihood(m, 2, 30.43, 38.86) == doctest::Approx(-9.458606307066272).epsilon(1e-12));
    CHECK(bgnbd_log_likelihood(m, 0, 0, 38.86) == doctest::Approx(-0.5547132764381585).epsilon(1e-12));
    CHECK(bgnbd_log_likelihood(m, 1, 1.71, 38.86) == doctest::Approx(-4.46909327503259).epsilon(1e-12));
  }

  TEST_CASE("the Gamma-Gamma likelihood matches values computed by hand")
  {
    const GammaGamma m{6.25, 3.74, 15.44, 0};
    CHECK(gamma_gamma_log_likelihood(m, 2, 30.5) == doctest::Approx(-3.870817085384985).epsilon(1e-12));
    CHECK(gamma_gamma_log_likelihood(m, 5, 12.25) == doctest::Approx(-3.9685553800185573).epsilon(1e-12));
  }

  TEST_CASE("BG/NBD recovers the parameters of data simulated from it")
  {
    const BgNbd truth{0.5, 6.0, 0.7, 2.5, 0};
    const auto data = simulate_bgnbd(truth, 30000, 52, 42);
    const auto fitted = fit_bgnbd(data);
    REQUIRE(fitted);
    CHECK(fitted->r == doctest::Approx(truth.r).epsilon(0.1));
    CHECK(fitted->alpha == doctest::Approx(truth.alpha).epsilon(0.15));
    CHECK(fitted->a == doctest::Approx(truth.a).epsilon(0.2));
    CHECK(fitted->b == doctest::Approx(truth.b).epsilon(0.2));
    // The optimum is a maximum: the true parameters fit the sample no better.
    double at_truth = 0;
    for (const auto& c : data) {
      at_truth += bgnbd_log_likelihood(truth, c.x, c.t_x, c.T);
    }
    CHECK(fitted->log_likelihood >= at_truth);
  }

  TEST_CASE("Gamma-Gamma recovers the parameters of data simulated from it")
  {
    const GammaGamma truth{4.0, 3.5, 20.0, 0};
    std::mt19937_64 random(7);
    std::gamma_distribution<double> customer_scale(truth.q, 1.0 / truth.gamma);
    std::poisson_distribution<int> repeats(3);
    std::vector<PurchaseSummary> data;
    for (int i = 0; i < 20000; ++i) {
      const double nu = customer_scale(random);
      std::gamma_distribution<double> value(truth.p, 1.0 / nu);
      PurchaseSummary s;
      s.x = 1 + repeats(random);
      double total = 0;
      for (int k = 0; k < s.x; ++k) {
        total += value(random);
      }
      s.monetary = total / s.x;
      data.push_back(s);
    }
    const auto fitted = fit_gamma_gamma(data);
    REQUIRE(fitted);
    CHECK(fitted->p == doctest::Approx(truth.p).epsilon(0.1));
    CHECK(fitted->q == doctest::Approx(truth.q).epsilon(0.15));
    CHECK(fitted->gamma == doctest::Approx(truth.gamma).epsilon(0.2));
  }

  TEST_CASE("predictions behave: alive after no repeat, fewer purchases expected from the long silent")
  {
    const BgNbd m{0.243, 4.414, 0.793, 2.426, 0};
    PurchaseSummary one_time;
    one_time.T = 38;
    CHECK(p_alive(m, one_time) == 1.0);
    PurchaseSummary recent{"r", 5, 37, 38, 30};
    PurchaseSummary silent{"s", 5, 5, 38, 30};
    CHECK(p_alive(m, recent) == doctest::Approx(0.8773088543167112).epsilon(1e-9)); // by hand, FHL eq. 3
    CHECK(p_alive(m, silent) == doctest::Approx(0.003018712383720731).epsilon(1e-9));
    // By hand (FHL eq. 10 with the series of 2F1 summed in Python) for a < 1 too.
    CHECK(expected_purchases(m, recent, 52) == doctest::Approx(4.280254559139968).epsilon(1e-6));
    const BgNbd m2{0.243, 4.414, 1.5, 2.426, 0};
    CHECK(expected_purchases(m2, recent, 52) > expected_purchases(m2, silent, 52));
    CHECK(expected_purchases(m2, recent, 52) > expected_purchases(m2, recent, 26));
    const GammaGamma g{6.25, 3.74, 15.44, 0};
    CHECK(expected_order_value(g, recent) == doctest::Approx(6.25 * (15.44 + 5 * 30) / (6.25 * 5 + 3.74 - 1)));
    CHECK(clv(m2, g, recent, ClvSettings{}) > clv(m2, g, silent, ClvSettings{}));
  }

  TEST_CASE("the analytic gradient of the BG/NBD likelihood matches finite differences")
  {
    const auto data = simulate_bgnbd(BgNbd{0.5, 6.0, 0.7, 2.5, 0}, 500, 52, 3);
    const BgNbd at{0.4, 5.0, 0.9, 2.0, 0};
    check_gradient(at, {&BgNbd::r, &BgNbd::alpha, &BgNbd::a, &BgNbd::b},
                   [&](const BgNbd& m, double* g) { return bgnbd_log_likelihood_and_gradient(m, data, g); });
    // And the summed value is the sum of the per-customer likelihoods.
    double sum = 0;
    for (const auto& c : data) {
      sum += bgnbd_log_likelihood(at, c.x, c.t_x, c.T);
    }
    CHECK(bgnbd_log_likelihood_and_gradient(at, data, nullptr) == doctest::Approx(sum).epsilon(1e-12));
  }

  TEST_CASE("the analytic gradient of the Gamma-Gamma likelihood matches finite differences")
  {
    std::vector<PurchaseSummary> data;
    for (int i = 0; i < 200; ++i) {
      PurchaseSummary c;
      c.x = 1 + i % 5;
      c.monetary = 10 + (i * 37 % 90);
      data.push_back(c);
    }
    const GammaGamma at{3.0, 4.0, 15.0, 0};
    check_gradient(at, {&GammaGamma::p, &GammaGamma::q, &GammaGamma::gamma},
                   [&](const GammaGamma& m, double* g) { return gamma_gamma_log_likelihood_and_gradient(m, data, g); });
    double sum = 0;
    for (const auto& c : data) {
      sum += gamma_gamma_log_likelihood(at, c.x, c.monetary);
    }
    CHECK(gamma_gamma_log_likelihood_and_gradient(at, data, nullptr) == doctest::Approx(sum).epsilon(1e-12));
  }

  TEST_CASE("with many groups the likelihoods are summed on two threads and still equal the plain sums")
  {
    // 120,000 customers with distinct (x, t_x, T) and (x, monetary): more groups than the
    // threshold for the second thread, so the split path is the one checked here.
    std::vector<PurchaseSummary> data;
    for (int i = 0; i < 120000; ++i) {
      PurchaseSummary c;
      c.x = i % 7;
      c.T = 20 + (i % 997) * 0.05;
      c.t_x = c.x > 0 ? c.T * ((i % 89) + 1) / 91.0 : 0;
      c.monetary = c.x > 0 ? 5 + (i % 4999) * 0.037 : 0;
      data.push_back(c);
    }
    const BgNbd m{0.4, 5.0, 0.9, 2.0, 0};
    const GammaGamma g{3.0, 4.0, 15.0, 0};
    double bg = 0, gg = 0;
    for (const auto& c : data) {
      bg += bgnbd_log_likelihood(m, c.x, c.t_x, c.T);
      gg += c.x > 0 ? gamma_gamma_log_likelihood(g, c.x, c.monetary) : 0;
    }
    CHECK(bgnbd_log_likelihood_and_gradient(m, data, nullptr) == doctest::Approx(bg).epsilon(1e-10));
    CHECK(gamma_gamma_log_likelihood_and_gradient(g, data, nullptr) == doctest::Approx(gg).epsilon(1e-10));
    double split[4] = {}, again[4] = {};
    bgnbd_log_likelihood_and_gradient(m, data, split);
    bgnbd_log_likelihood_and_gradient(m, data, again);
    for (int k = 0; k < 4; ++k) {
      CHECK(split[k] == again[k]); // the same split every time: bit for bit
    }
  }

  TEST_CASE("fitting needs repeat buyers")
  {
    std::vector<PurchaseSummary> once(10);
    for (auto& c : once) {
      c.T = 10;
    }
    CHECK_FALSE(fit_bgnbd(once));
    CHECK_FALSE(fit_gamma_gamma(once));
    CHECK_FALSE(fit_bgnbd({}));
  }
}
