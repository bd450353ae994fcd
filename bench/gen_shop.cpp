// A synthetic shop for scale tests: CUSTOMERS customers and about ORDERS orders with the
// skew of real shops (most customers buy once or twice, a few buy often; order values are
// log-normal), over the two years before 2026-01-01. Deterministic for a given seed.
// Usage: gen_shop CUSTOMERS ORDERS OUT_DIR [SEED]  -> OUT_DIR/customers.csv, orders.csv
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

int
main(int argc, char** argv)
{
  if (argc < 4) {
    std::fprintf(stderr, "usage: gen_shop CUSTOMERS ORDERS OUT_DIR [SEED]\n");
    return 2;
  }
  const long customers = std::atol(argv[1]);
  const long target_orders = std::atol(argv[2]);
  const std::string dir = argv[3];
  std::mt19937_64 random(argc > 4 ? std::strtoull(argv[4], nullptr, 10) : 1);

  // Purchase propensity per customer from a Pareto-like law, scaled to the order target.
  std::vector<double> weight(static_cast<std::size_t>(customers));
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  double total = 0;
  for (auto& w : weight) {
    w = std::pow(1.0 - uniform(random), -1.0 / 1.5); // Pareto, shape 1.5, minimum 1
    total += w;
  }
  const double scale = static_cast<double>(target_orders) / total;

  FILE* c = std::fopen((dir + "/customers.csv").c_str(), "w");
  FILE* o = std::fopen((dir + "/orders.csv").c_str(), "w");
  if (!c || !o) {
    std::fprintf(stderr, "cannot write to %s\n", dir.c_str());
    return 2;
  }
  std::fprintf(c, "customer_id,email,first_name,country,email_consent,sms_consent,acquisition_channel,tier\n");
  std::fprintf(o, "order_id,customer_id,ordered_at,amount,currency\n");
  const char* countries[] = {"DE", "AT", "CH", "FR", "NL", "PL", "IT", "ES"};
  const char* channels[] = {"search", "social", "email", "affiliate", "direct"};
  std::lognormal_distribution<double> amount(3.4, 0.7); // median about 30
  const long start = 1704067200;                        // 2024-01-01
  const long span = 2 * 365 * 86400L;
  long order_id = 0;
  for (long i = 0; i < customers; ++i) {
    std::fprintf(c, "c%ld,c%ld@shop.example,Name%ld,%s,%s,%s,%s,%s\n", i, i, i % 9973, countries[i % 8],
                 (i % 3) ? "yes" : "no", (i % 5) ? "no" : "yes", channels[i % 5], (i % 7) ? "" : "gold");
    std::poisson_distribution<long> count(weight[static_cast<std::size_t>(i)] * scale);
    const long n = std::max(1L, count(random));
    const long first = start + static_cast<long>(uniform(random) * static_cast<double>(span));
    for (long k = 0; k < n; ++k) {
      const long at = first + static_cast<long>(uniform(random) * static_cast<double>(start + span - first));
      const long day = at / 86400;
      // days since 1970-01-01 to a civil date (Howard Hinnant's algorithm)
      long z = day + 719468;
      const long era = (z >= 0 ? z : z - 146096) / 146097;
      const long doe = z - era * 146097;
      const long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
      const long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
      const long mp = (5 * doy + 2) / 153;
      const long d = doy - (153 * mp + 2) / 5 + 1;
      const long m = mp < 10 ? mp + 3 : mp - 9;
      const long y = yoe + era * 400 + (m <= 2);
      std::fprintf(o, "o%ld,c%ld,%04ld-%02ld-%02ldT%02ld:%02ld:00Z,%.2f,EUR\n", order_id++, i, y, m, d,
                   (at % 86400) / 3600, (at % 3600) / 60, std::min(5000.0, amount(random)));
    }
  }
  std::fclose(c);
  std::fclose(o);
  std::fprintf(stderr, "%ld customers, %ld orders\n", customers, order_id);
  return 0;
}
