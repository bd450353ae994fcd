#pragma once
// The event API, compatible with Segment's tracking API: POST /v1/track, /v1/identify and
// /v1/batch with a bearer token from server.api_tokens. "Order Completed" (order_id,
// revenue or total, currency, products[0].category) becomes an order, identify's traits
// update the customer, other events become events named in snake case ("Product Viewed" ->
// product_viewed). A request is checked whole before anything is written: one bad item
// refuses it with 400 and the item's place; a 2xx comes after the commit. A repeated
// messageId changes nothing.

#include "engine/http_types.hpp"
#include "engine/store.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <vector>

namespace cvmd {

class JobThread;

class EventApi
{
public:
  using Now = std::function<std::int64_t()>;
  EventApi(Store& store, std::vector<std::string> tokens, Now now);
  ~EventApi();

  bool handles(const std::string& path) const;
  // Checks the request, writes it into the open group (a transaction shared by the
  // requests that arrive together) and answers once the group is committed; refusals are
  // answered at once. Without a Defer (tests) each request commits on its own.
  // With a Defer, requests are checked, written and committed on the store's thread (the
  // server's thread only reads and answers HTTP); a group is committed when no request
  // waits for that thread any more, and `respond` is called on the server's thread.
  void handle(const HttpRequestView& request, Respond respond);
  // Other work on the store's connection (the tracking links), which is used by one thread
  // only: with a Defer it runs on the store's thread, after the open group is committed
  // (Store::finish_open_writer_with), and `respond` is called on the server's thread.
  void run_with_store(std::function<HttpReply()> work, Respond respond);
  void set_defer(Defer defer);
  // On SIGTERM, while the server's loop still runs: what the store's thread was handed is
  // written, committed and answered, and the thread stops; later requests get 503.
  void stop();
  // Called after each commit with how many items it stored (not counting repeats), on the
  // server's thread.
  void on_stored(std::function<void(std::size_t)> callback) { m_on_stored = std::move(callback); }

private:
  struct Checked; // a request's items, or why it is refused
  bool authorized(const HttpRequestView& request) const;
  std::shared_ptr<Checked> check(const HttpRequestView& request) const;
  // On the store's thread: into the open group, or refused at once.
  void accept(const Checked& checked, Respond respond);
  JobThread& worker();
  Respond on_server_thread(Respond respond) const;
  HttpReply write(const Checked& checked, std::size_t& stored);
  bool take_back_request();
  // Rolls the open group back and answers its waiting requests 503 (a retry is safe).
  void abandon_group();
  void flush();

  struct Waiting
  {
    Respond respond;
    HttpReply reply;
    std::size_t stored = 0;
  };
  static constexpr std::chrono::microseconds group_time{1000};
  std::unique_ptr<Store::Writer> m_group;
  std::chrono::steady_clock::time_point m_group_opened;
  std::vector<Waiting> m_waiting;
  Defer m_defer;

  Store& m_store;
  std::vector<std::string> m_tokens;
  Now m_now;
  std::function<void(std::size_t)> m_on_stored;
  bool m_stopped = false;
  std::unique_ptr<JobThread> m_worker; // the store's thread; last: it stops before the rest goes
};

} // namespace cvmd
