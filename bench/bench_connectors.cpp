// Messages per second through one connector, as the outbox sender drives it (dispatcher,
// N connections, kept open): the cvmd side of bench/bench_connectors.py.
//
// usage: bench_connectors smtp|kannel URL COUNT CONCURRENCY BODY_BYTES
#include "connectors/dispatcher.hpp"
#include "connectors/factory.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

int
main(int argc, char** argv)
{
  if (argc != 6) {
    std::fprintf(stderr, "usage: bench_connectors smtp|kannel URL COUNT CONCURRENCY BODY_BYTES\n");
    return 2;
  }
  const std::string type = argv[1];
  cvmd::ConnectorConfig config;
  config.name = "bench";
  config.type = type;
  config.url = argv[2];
  config.from = type == "smtp" ? "Bench <bench@shop.example>" : "Shop";
  if (type == "kannel") { // the credentials of tests/connectors/servers.py's Kannel
    config.username = "cvmd";
    config.password = "kannel-secret";
  }
  config.concurrency = std::atoi(argv[4]);
  config.tls = "none";
  const auto count = static_cast<std::size_t>(std::atol(argv[3]));
  const auto body = static_cast<std::size_t>(std::atol(argv[5]));
  std::vector<cvmd::DispatchItem> items;
  for (std::size_t i = 0; i < count; ++i) {
    cvmd::RenderedMessage m;
    m.key = "bench:" + std::to_string(i);
    m.channel = type == "smtp" ? "email" : "sms";
    m.to = type == "smtp" ? "customer" + std::to_string(i) + "@x.example" : "+49151" + std::to_string(10000000 + i);
    m.subject = "Bench message " + std::to_string(i);
    m.text = std::string(body, 'x');
    m.unsubscribe_url = "https://shop.example/cvmd/u/token";
    items.push_back({i, std::move(m)});
  }
  cvmd::Dispatcher dispatcher(config, cvmd::make_connector, cvmd::BreakerSettings{1000000, std::chrono::seconds(1)});
  std::size_t delivered = 0;
  std::string first_problem;
  const auto started = std::chrono::steady_clock::now();
  dispatcher.run(std::move(items), [&](const cvmd::DispatchResult& r) {
    if (r.delivery.status == cvmd::DeliveryStatus::delivered) {
      ++delivered;
    } else if (first_problem.empty()) {
      first_problem = r.delivery.reason;
    }
  });
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("%zu of %zu delivered in %.3f s: %.0f messages/s%s%s\n", delivered, count, seconds,
              static_cast<double>(delivered) / seconds,
              first_problem.empty() ? "" : "; first problem: ", first_problem.c_str());
  return delivered == count ? 0 : 1;
}
