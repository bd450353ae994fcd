#include "engine/command_outbox.hpp"

#include "connectors/factory.hpp"
#include "dsl/dsl.hpp"
#include "engine/outbox_sender.hpp"
#include "engine/render.hpp"
#include "engine/table.hpp"
#include "engine/values.hpp"

#include <chrono>
#include <filesystem>
#include <iostream>

namespace cvmd {

namespace {

std::int64_t
wall_now()
{
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string
templates_folder(const Config& config)
{
  return config.templates_set ? config.templates : (std::filesystem::path(config.scenarios) / "templates").string();
}

struct SendArgs
{
  std::string template_name;
  std::string customer;
  std::string connector;
  std::string outbox;
};

int
run_send(const GlobalOptions& global, const SendArgs& args)
{
  auto opened = open_store(global, true);
  if (!opened) {
    return 2;
  }
  auto& store = *opened->store;
  const auto& config = opened->config;
  dsl::TemplateCatalog templates;
  dsl::Diagnostics problems;
  const auto folder = templates_folder(config);
  templates.load_directory(folder, problems);
  std::string name = args.template_name;
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  const auto* t = templates.find(name);
  if (!t) {
    std::cerr << "cvmd send: no template '" << args.template_name << "' in " << folder << "\n";
    return 1;
  }
  bool broken = false;
  for (const auto& d : problems.all()) {
    if (d.file == t->path) {
      std::cerr << dsl::format_text(d);
      broken = broken || d.severity == dsl::Severity::error;
    }
  }
  if (broken) {
    std::cerr << "cvmd send: the template has errors; nothing was sent\n";
    return 1;
  }
  const auto now = wall_now();
  auto metrics = config.metrics;
  metrics.keep_later_buyers = true;
  auto state = CustomerState::build(store, now, metrics);
  const auto customer = state.index_of(args.customer);
  if (!customer) {
    std::cerr << "cvmd send: no customer '" << args.customer << "' in the store\n";
    return 1;
  }
  const auto dry_run =
    args.outbox.empty() ? (std::filesystem::path(store.path()).parent_path() / "outbox").string() : args.outbox;
  OutboxSender sender(config, dry_run);
  std::string why;
  const auto* connector = sender.route(t->channel, args.connector, why);
  if (!connector) {
    std::cerr << "cvmd send: " << why << "\n";
    return 2;
  }
  // A test send is kept in the outbox like any message (no scenario), so it is on record;
  // the key's microseconds keep two sends in one second apart.
  const auto micros =
    std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  OutboxMessage m;
  m.key = "send:" + name + ":" + args.customer + ":" + std::to_string(micros);
  m.customer_id = args.customer;
  m.channel = t->channel;
  m.template_name = name;
  m.due_at = now;
  auto rendered = render_message(*t, state, *customer, m, sender.signer());
  if (!rendered) {
    std::cerr << "cvmd send: " << rendered.error() << "\nnothing was sent\n";
    return 1;
  }
  {
    // On record before it goes (cycles never pick up test sends, so a crash leaves it
    // pending and visible, not sent again).
    Store::Writer writer(store);
    writer.queue_message(m);
    writer.commit();
  }
  Delivery delivery;
  std::size_t results = 0;
  sender.dispatcher(*connector).run({{0, *rendered}}, [&](const DispatchResult& r) {
    delivery = r.delivery;
    ++results;
  });
  {
    Store::Writer writer(store);
    DeliveryRecord record{m.key,
                          delivery.status == DeliveryStatus::delivered ? "sent" : "failed",
                          true,
                          now,
                          now,
                          connector->name,
                          delivery.provider_id,
                          delivery.reason};
    writer.record_delivery(record);
    writer.commit();
  }
  if (results != 1 || delivery.status != DeliveryStatus::delivered) {
    std::cerr << "cvmd send: not sent (" << to_string(delivery.status) << "): " << delivery.reason << "\n";
    return 1;
  }
  // A webhook's URL may hold its secret: it is not printed.
  std::cout << "sent '" << name << "' " << (rendered->to.empty() ? std::string() : "to " + rendered->to + " ")
            << "through " << connector->name << " (" << connector->type << ")"
            << (delivery.provider_id.empty() ? "" : ", id " + delivery.provider_id) << "\n";
  return 0;
}

struct OutboxArgs
{
  OutboxFilter filter;
  std::string format = "table";
  std::string key;
  std::string from_state = "dead";
  bool all = false;
};

int
run_outbox_list(const GlobalOptions& global, const OutboxArgs& args)
{
  auto opened = open_store(global, true);
  if (!opened) {
    return 2;
  }
  const auto& store = *opened->store;
  Table table;
  table.columns = {"key", "customer",     "channel", "template",  "state",       "attempts",
                   "due", "next_attempt", "done",    "connector", "provider_id", "detail"};
  for (const auto& m : store.outbox(args.filter)) {
    table.rows.push_back({boost::json::value(m.key), boost::json::value(m.customer_id), boost::json::value(m.channel),
                          boost::json::value(m.template_name), boost::json::value(m.state),
                          boost::json::value(m.attempts), boost::json::value(format_time(m.due_at)),
                          boost::json::value(m.state == "pending" ? format_time(m.next_attempt_at) : std::string()),
                          boost::json::value(m.done_at ? format_time(*m.done_at) : std::string()),
                          boost::json::value(m.connector), boost::json::value(m.provider_id),
                          boost::json::value(m.detail)});
  }
  std::cout << table.render(args.format);
  if (args.format == "table") {
    std::cout << "\n";
    for (const auto& [state, count] : store.outbox_counts()) {
      std::cout << state << ": " << count << "  ";
    }
    std::cout << "\n";
  }
  return 0;
}

int
run_outbox_change(const GlobalOptions& global, const OutboxArgs& args, bool retry)
{
  if (args.key.empty() == !args.all) {
    std::cerr << "cvmd outbox " << (retry ? "retry" : "discard") << ": give one message KEY or --all\n";
    return 2;
  }
  auto opened = open_store(global, true);
  if (!opened) {
    return 2;
  }
  auto& store = *opened->store;
  Store::Writer writer(store);
  const auto now = wall_now();
  const auto changed = retry ? writer.requeue_messages(args.key, args.from_state, now)
                             : writer.discard_messages(args.key, args.from_state, now);
  writer.commit();
  std::cout << changed << (changed == 1 ? " message " : " messages ") << (retry ? "queued again" : "discarded") << "\n";
  if (changed == 0 && !args.key.empty()) {
    std::cerr << "cvmd outbox: no " << args.from_state << " message with key '" << args.key << "'\n";
    return 1;
  }
  return 0;
}

} // namespace

void
add_outbox_commands(CLI::App& app, const GlobalOptions& global, int& exit_code)
{
  auto send_args = std::make_shared<SendArgs>();
  auto* send = app.add_subcommand("send", "Render one template for one customer and send it now (a test send)");
  send->add_option("template", send_args->template_name, "Template name (its file name without .yaml)")->required();
  send->add_option("--customer", send_args->customer, "Customer id")->required();
  send->add_option("--connector", send_args->connector, "Connector name (default: the one named like the channel)");
  send->add_option("--outbox", send_args->outbox, "Folder of the dry-run file connector when none is configured");
  send->callback([send_args, &global, &exit_code] { exit_code = run_send(global, *send_args); });

  auto args = std::make_shared<OutboxArgs>();
  auto* outbox = app.add_subcommand("outbox", "List the outbox; retry or discard failed and dead-lettered messages");
  outbox->add_option("--state", args->filter.state, "Only this state")
    ->check(CLI::IsMember({"pending", "sent", "failed", "dead", "discarded"}));
  outbox->add_option("--customer", args->filter.customer, "Only this customer's messages");
  outbox->add_option("--key", args->filter.key, "Only the message with this key");
  outbox->add_option("--limit", args->filter.limit, "At most this many rows (default 100)");
  outbox->add_option("--format", args->format, "Output format")->check(CLI::IsMember({"table", "json", "csv"}));
  outbox->require_subcommand(0, 1);
  for (const bool retry : {true, false}) {
    auto* change = outbox->add_subcommand(retry ? "retry" : "discard",
                                          retry ? "Queue a dead-lettered (or --from failed) message again, now"
                                                : "Give up a message for good");
    change->add_option("key", args->key, "The message's key");
    change->add_flag("--all", args->all, "Every message in the --from state");
    change->add_option("--from", args->from_state, "The state to take messages from (default dead)")
      ->check(CLI::IsMember(retry ? std::vector<std::string>{"dead", "failed"}
                                  : std::vector<std::string>{"dead", "failed", "pending"}));
    change->callback([args, &global, &exit_code, retry] { exit_code = run_outbox_change(global, *args, retry); });
  }
  outbox->callback([outbox, args, &global, &exit_code] {
    if (outbox->get_subcommands().empty()) {
      exit_code = run_outbox_list(global, *args);
    }
  });
}

} // namespace cvmd
