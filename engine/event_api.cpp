#include "engine/event_api.hpp"

#include "engine/access_tokens.hpp"
#include "engine/job_thread.hpp"
#include "engine/row_checks.hpp"
#include "engine/values.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <iostream>
#include <optional>
#include <variant>

namespace cvmd {

namespace {

namespace json = boost::json;

// One checked item, ready to write.
struct Item
{
  bool ignored = false;
  std::string message_id;
  bool timed = false; // the caller sent a timestamp, which a retry repeats
  std::variant<CustomerRow, OrderRow, EventRow> row;
};

HttpReply
json_reply(int status, json::object body)
{
  return {status, "application/json", json::serialize(body) + "\n", {}};
}

HttpReply
refuse(int status, const std::string& message)
{
  auto reply = json_reply(status, {{"success", false}, {"error", message}});
  if (status == 503) {
    reply.headers.emplace_back("Retry-After", "1"); // nothing was stored: the client tries again
  }
  return reply;
}

// A JSON scalar as import text: strings as they are, numbers in their shortest form.
std::optional<std::string>
scalar_text(const json::value& v)
{
  if (const auto* s = v.if_string()) {
    return std::string(*s);
  }
  if (v.is_int64() || v.is_uint64()) {
    return json::serialize(v);
  }
  if (v.is_double()) {
    // 49.9, not Boost.JSON's 4.99E1; and a float sum like 59.970000000000006 as 59.97: money
    // has at most four decimals here.
    char buffer[64];
    const auto end = std::to_chars(buffer, buffer + sizeof buffer, v.get_double(), std::chars_format::fixed, 4).ptr;
    std::string text(buffer, end);
    while (text.find('.') != std::string::npos && (text.back() == '0' || text.back() == '.')) {
      const bool dot = text.back() == '.';
      text.pop_back();
      if (dot) {
        break;
      }
    }
    return text;
  }
  if (v.is_bool()) {
    return std::string(v.get_bool() ? "true" : "false");
  }
  return std::nullopt;
}

// "Product Viewed" -> product_viewed, "checkout-started" -> checkout_started.
std::string
snake_case(std::string_view name)
{
  std::string out;
  for (unsigned char c : name) {
    if (std::isalnum(c)) {
      out += static_cast<char>(std::tolower(c));
    } else if (!out.empty() && out.back() != '_') {
      out += '_';
    }
  }
  while (!out.empty() && out.back() == '_') {
    out.pop_back();
  }
  return out;
}

// Segment's trait names in camel case, and ours.
std::string
trait_field(const std::string& name)
{
  static const std::pair<const char*, const char*> names[] = {{"firstName", "first_name"},
                                                              {"lastName", "last_name"},
                                                              {"emailConsent", "email_consent"},
                                                              {"smsConsent", "sms_consent"},
                                                              {"acquisitionChannel", "acquisition_channel"}};
  for (const auto& [theirs, ours] : names) {
    if (name == theirs) {
      return ours;
    }
  }
  return name;
}

class ItemReader
{
public:
  ItemReader(std::int64_t now) : m_now(now) {}

  // The problem with `v` (prefixed by where it is), or an empty string and `out` filled.
  std::string read(const json::value& v, const std::string& where, std::string type, Item& out)
  {
    const auto* object = v.if_object();
    if (!object) {
      return where + ": must be a JSON object";
    }
    if (type.empty()) {
      const auto* t = object->if_contains("type");
      if (!t || !t->is_string()) {
        return where + ".type: missing (track or identify)";
      }
      type = std::string(t->get_string());
    }
    if (type == "page" || type == "screen" || type == "group" || type == "alias") {
      out.ignored = true; // analytics libraries batch these with the rest: not ours to keep
      return {};
    }
    if (type != "track" && type != "identify") {
      return where + ".type: '" + type + "' is not a Segment call (track, identify, page, screen, group, alias)";
    }
    const auto user = field_text(*object, "userId");
    if (!user) {
      return where + ".userId: missing (the shop's customer id)";
    }
    if (auto p = check_id(where + ".userId", *user); !p.empty()) {
      return p;
    }
    if (const auto* id = object->if_contains("messageId")) {
      const auto text = scalar_text(*id);
      if (!text || text->empty() || text->size() > 200) {
        return where + ".messageId: must be a text of at most 200 characters";
      }
      out.message_id = *text;
    }
    std::string at = format_time(m_now);
    if (const auto* timestamp = object->if_contains("timestamp")) {
      const auto text = scalar_text(*timestamp);
      if (!text) {
        return where + ".timestamp: must be an ISO 8601 time";
      }
      at = without_fraction(*text);
      out.timed = true;
    }
    Record record;
    record.fields.emplace_back("customer_id", *user);
    if (type == "identify") {
      if (const auto* traits = object->if_contains("traits")) {
        if (!traits->is_object()) {
          return where + ".traits: must be a JSON object";
        }
        for (const auto& [name, value] : traits->get_object()) {
          if (value.is_null()) {
            continue; // no value: the stored one stays
          }
          // address, company and other objects are kept whole, as JSON, in a profile field.
          const auto text =
            value.is_object() || value.is_array() ? std::optional(json::serialize(value)) : scalar_text(value);
          record.fields.emplace_back(trait_field(std::string(name)), *text);
        }
      }
      CustomerRow row;
      if (auto p = parse_customer(record, row); !p.empty()) {
        return where + ": " + p;
      }
      out.row = std::move(row);
      return {};
    }
    const auto event = field_text(*object, "event");
    if (!event || event->empty()) {
      return where + ".event: missing (the event's name, e.g. Order Completed)";
    }
    const auto* properties = object->if_contains("properties");
    if (properties && !properties->is_object()) {
      return where + ".properties: must be a JSON object";
    }
    if (snake_case(*event) == "order_completed") {
      return order(properties ? &properties->get_object() : nullptr, where, record, at, out);
    }
    record.fields.emplace_back("type", snake_case(*event));
    record.fields.emplace_back("at", at);
    if (properties) {
      record.fields.emplace_back("properties", json::serialize(*properties));
    }
    EventRow row;
    if (auto p = parse_event(record, m_now, row); !p.empty()) {
      return where + ": " + p;
    }
    out.row = std::move(row);
    return {};
  }

private:
  static std::optional<std::string> field_text(const json::object& object, const char* name)
  {
    const auto* v = object.if_contains(name);
    return v ? scalar_text(*v) : std::nullopt;
  }

  // Segment sends milliseconds ("…T10:00:00.123Z"); orders and events keep seconds.
  static std::string without_fraction(const std::string& text)
  {
    const auto dot = text.find('.', 19);
    if (text.size() < 20 || dot != 19) {
      return text;
    }
    auto end = dot + 1;
    while (end < text.size() && std::isdigit(static_cast<unsigned char>(text[end]))) {
      ++end;
    }
    return text.substr(0, dot) + text.substr(end);
  }

  std::string order(const json::object* properties, const std::string& where, Record& record, const std::string& at,
                    Item& out)
  {
    if (!properties) {
      return where + ".properties: an Order Completed needs order_id and revenue (or total)";
    }
    const auto id = field_text(*properties, "order_id");
    const auto amount =
      properties->contains("revenue") ? field_text(*properties, "revenue") : field_text(*properties, "total");
    if (!id) {
      return where + ".properties.order_id: missing";
    }
    if (!amount) {
      return where + ".properties.revenue: missing (or total)";
    }
    record.fields.emplace_back("order_id", *id);
    record.fields.emplace_back("ordered_at", at);
    record.fields.emplace_back("amount", *amount);
    if (const auto currency = field_text(*properties, "currency")) {
      record.fields.emplace_back("currency", *currency);
    }
    if (const auto* products = properties->if_contains("products");
        products && products->is_array() && !products->get_array().empty()) {
      if (const auto* first = products->get_array()[0].if_object()) {
        if (const auto category = field_text(*first, "category")) {
          record.fields.emplace_back("category", *category);
        }
      }
    }
    OrderRow row;
    std::string scratch;
    if (auto p = parse_order(record, m_now, row, scratch); !p.empty()) {
      return where + ".properties: " + p;
    }
    out.row = std::move(row);
    return {};
  }

  std::int64_t m_now;
};

} // namespace

EventApi::EventApi(Store& store, std::vector<std::string> tokens, Now now)
  : m_store(store), m_tokens(std::move(tokens)), m_now(std::move(now))
{
}

struct EventApi::Checked
{
  std::optional<HttpReply> refusal;
  std::vector<Item> items;
  std::int64_t now = 0;
  // Only an order can still be refused once written (409: its id is stored with other
  // values), so only a request with orders needs a savepoint of its own. Without one a
  // request costs a fifth less: a savepoint copies every page it is the first to change
  // (the events table and its indexes) into the statement journal.
  bool has_orders = false;
};

EventApi::~EventApi()
{
  m_worker.reset(); // writes and commits what it was handed, then stops
  m_store.finish_open_writer_with({});
}

void
EventApi::set_defer(Defer defer)
{
  m_defer = std::move(defer);
  // Without this, every open, click and delivery report answered while events poured in
  // found the group's transaction open and recorded nothing.
  m_store.finish_open_writer_with([this] { flush(); });
}

bool
EventApi::handles(const std::string& path) const
{
  return path == "/v1/track" || path == "/v1/identify" || path == "/v1/batch";
}

bool
EventApi::authorized(const HttpRequestView& request) const
{
  return token_accepted(m_tokens, presented_token(request));
}

void
EventApi::handle(const HttpRequestView& request, Respond respond)
{
  if (!m_defer) {
    accept(*check(request), std::move(respond));
    return;
  }
  if (m_stopped) {
    respond(refuse(503, "stopping, try again"));
    return;
  }
  // Checked, written and committed on the store's thread, so that this one (the server's)
  // only reads and answers HTTP: a request arriving while a group was written waited for
  // it here, and that wait was most of the latency's tail.
  auto copy = std::make_shared<HttpRequestView>(request);
  worker().post([this, copy, respond = on_server_thread(std::move(respond))] {
    std::shared_ptr<Checked> checked;
    try {
      checked = check(*copy);
    } catch (const std::exception& e) {
      checked = std::make_shared<Checked>();
      checked->refusal = refuse(503, std::string("busy, try again (") + e.what() + ")");
    }
    try {
      accept(*checked, respond);
    } catch (const std::exception& e) {
      // The store failed the write (disk full, I/O): nothing of this request or of the
      // group it was in was acknowledged, so a retry is safe.
      std::cerr << "cvmd serve: event API: " << e.what() << "\n";
      respond(refuse(503, "the store could not take it, try again"));
    }
  });
}

void
EventApi::run_with_store(std::function<HttpReply()> work, Respond respond)
{
  if (!m_defer) {
    respond(work());
    return;
  }
  if (m_stopped) {
    respond(refuse(503, "stopping, try again"));
    return;
  }
  worker().post([work = std::move(work), respond = on_server_thread(std::move(respond))] {
    HttpReply reply;
    try {
      reply = work();
    } catch (const std::exception& e) {
      std::cerr << "cvmd serve: " << e.what() << "\n";
      reply = refuse(503, "busy, try again");
    }
    respond(std::move(reply));
  });
}

void
EventApi::stop()
{
  m_worker.reset(); // runs what it was handed (answers are posted to the loop), then joins
  m_stopped = true;
}

JobThread&
EventApi::worker()
{
  if (!m_worker) {
    m_worker = std::make_unique<JobThread>([this] { flush(); }); // a group ends when nothing waits
  }
  return *m_worker;
}

Respond
EventApi::on_server_thread(Respond respond) const
{
  return [defer = m_defer, respond = std::move(respond)](HttpReply reply) {
    defer([respond, reply = std::move(reply)]() mutable { respond(std::move(reply)); });
  };
}

void
EventApi::accept(const Checked& checked, Respond respond)
{
  if (checked.refusal) {
    respond(*checked.refusal); // nothing of it is in the group
    return;
  }
  const bool opened = !m_group;
  if (opened) {
    m_group = std::make_unique<Store::Writer>(m_store);
    m_group_opened = std::chrono::steady_clock::now();
  }
  std::size_t stored = 0;
  HttpReply reply;
  try {
    reply = write(checked, stored);
  } catch (...) {
    if (opened || !checked.has_orders || !take_back_request()) {
      abandon_group(); // the others of the group stay only if this request alone could go
    }
    throw;
  }
  if (reply.status != 200) {
    respond(std::move(reply)); // nothing of it is in the group
  } else {
    m_waiting.push_back({std::move(respond), std::move(reply), stored});
  }
  // With a Defer, the store's thread commits once nothing else waits for it, or once the
  // group is a millisecond old: a crowd of requests arriving together would otherwise all
  // wait for the last of them.
  if (!m_defer || std::chrono::steady_clock::now() - m_group_opened >= group_time) {
    flush();
  }
}

bool
EventApi::take_back_request()
{
  try {
    m_group->rollback_to_savepoint();
    return true;
  } catch (...) {
    return false;
  }
}

void
EventApi::abandon_group()
{
  m_group.reset(); // rolls back: nothing of it was acknowledged yet
  for (auto& waiting : m_waiting) {
    waiting.respond(refuse(503, "busy, try again"));
  }
  m_waiting.clear();
}

void
EventApi::flush()
{
  if (!m_group) {
    return; // abandoned after this flush was planned; its requests were answered then
  }
  auto waiting = std::move(m_waiting);
  m_waiting.clear();
  try {
    m_group->commit(); // durable before any of them is answered
  } catch (const std::exception&) {
    m_group.reset();
    for (auto& w : waiting) {
      w.respond(refuse(503, "busy, try again"));
    }
    return;
  }
  m_group.reset();
  std::size_t stored = 0;
  for (auto& w : waiting) {
    stored += w.stored;
    w.respond(std::move(w.reply));
  }
  if (m_on_stored) {
    if (m_defer) {
      m_defer([this, stored] { m_on_stored(stored); });
    } else {
      m_on_stored(stored);
    }
  }
}

std::shared_ptr<EventApi::Checked>
EventApi::check(const HttpRequestView& request) const
{
  auto out = std::make_shared<Checked>();
  const auto refused = [&](HttpReply reply) {
    out->refusal = std::move(reply);
    return out;
  };
  if (request.method != "POST") {
    return refused({405, "application/json", "{\"success\":false,\"error\":\"use POST\"}\n", {{"Allow", "POST"}}});
  }
  if (!authorized(request)) {
    return refused({401,
                    "application/json",
                    "{\"success\":false,\"error\":\"a valid bearer token is required\"}\n",
                    {{"WWW-Authenticate", "Bearer"}}});
  }
  const auto type = request.headers.find("content-type");
  if (type == request.headers.end() || type->second.rfind("application/json", 0) != 0) {
    return refused(refuse(415, "the body must be JSON (Content-Type: application/json)"));
  }
  boost::system::error_code ec;
  const auto body = json::parse(request.body, ec);
  if (ec) {
    return refused(refuse(400, "the body is not valid JSON (UTF-8): " + ec.message()));
  }
  const auto path = request.target.substr(0, request.target.find('?'));
  out->now = m_now();
  ItemReader reader(out->now);
  auto& items = out->items;
  if (path == "/v1/batch") {
    const auto* object = body.if_object();
    const auto* batch = object ? object->if_contains("batch") : nullptr;
    if (!batch || !batch->is_array() || batch->get_array().empty()) {
      return refused(refuse(400, "batch: missing (an array of track and identify calls)"));
    }
    for (std::size_t i = 0; i < batch->get_array().size(); ++i) {
      Item item;
      if (auto p = reader.read(batch->get_array()[i], "batch[" + std::to_string(i) + "]", {}, item); !p.empty()) {
        return refused(refuse(400, p + "; nothing was stored"));
      }
      items.push_back(std::move(item));
    }
  } else {
    Item item;
    if (auto p = reader.read(body, "body", path == "/v1/track" ? "track" : "identify", item); !p.empty()) {
      return refused(refuse(400, p + "; nothing was stored"));
    }
    items.push_back(std::move(item));
  }
  out->has_orders = std::any_of(items.begin(), items.end(), [](const Item& item) {
    return !item.ignored && std::holds_alternative<OrderRow>(item.row);
  });
  return out;
}

HttpReply
EventApi::write(const Checked& checked, std::size_t& stored)
{
  const auto now = checked.now;
  const auto& items = checked.items;
  std::size_t repeated = 0;
  auto& writer = *m_group;
  if (checked.has_orders) {
    writer.savepoint(); // this request alone can be taken back
  }
  std::size_t ignored = 0;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto& item = items[i];
    if (item.ignored) {
      ++ignored;
      continue;
    }
    // A timed event keeps its messageId in its own row, where a retry (the same id, time,
    // type and customer) is found through the events' time-ordered index. Every other
    // messageId goes to a table of its own, keyed by the id alone: a random place in a large
    // index for each, which rewrote a page per event and halved the batch rate.
    const bool kept_in_row = item.timed && std::holds_alternative<EventRow>(item.row);
    if (!item.message_id.empty() && !kept_in_row && !writer.remember_message_id(item.message_id, now)) {
      ++repeated;
      continue;
    }
    if (const auto* customer = std::get_if<CustomerRow>(&item.row)) {
      writer.upsert_customer(*customer, now);
    } else if (const auto* order = std::get_if<OrderRow>(&item.row)) {
      writer.ensure_customer(order->customer_id, now);
      if (writer.insert_order(*order) == InsertOutcome::conflict) {
        writer.rollback_to_savepoint();
        stored = 0;
        return refuse(409, "item " + std::to_string(i) + ": order_id '" + order->order_id +
                             "' is already stored with other values; nothing was stored");
      }
    } else {
      const auto& event = std::get<EventRow>(item.row);
      writer.ensure_customer(event.customer_id, now);
      if (writer.insert_event(event, item.message_id) == InsertOutcome::unchanged) {
        ++repeated; // the same messageId, or without one the same event, is stored already
        continue;
      }
    }
    ++stored;
  }
  if (checked.has_orders) {
    writer.release_savepoint();
  }
  return json_reply(200, {{"success", true}, {"stored", stored}, {"repeated", repeated}, {"ignored", ignored}});
}

} // namespace cvmd
