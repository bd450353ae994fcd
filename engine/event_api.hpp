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
  // With a Defer, the JSON is read and checked on a thread of its own (the server's thread
  // only writes and commits).
  void handle(const HttpRequestView& request, Respond respond);
  // With a Defer the group stays open across turns of the server's loop; another writer on the
  // store's connection (the tracking links) commits it first (Store::finish_open_writer_with).
  void set_defer(Defer defer);
  // Called after each commit with how many items it stored (not counting repeats).
  void on_stored(std::function<void(std::size_t)> callback) { m_on_stored = std::move(callback); }

private:
  struct Checked; // a request's items, or why it is refused
  bool authorized(const HttpRequestView& request) const;
  std::shared_ptr<Checked> check(const HttpRequestView& request) const;
  // On the server's thread: into the open group, or refused at once.
  void accept(const Checked& checked, Respond respond);
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
  std::unique_ptr<Store::Writer> m_group;
  std::vector<Waiting> m_waiting;
  Defer m_defer;

  Store& m_store;
  std::vector<std::string> m_tokens;
  Now m_now;
  std::function<void(std::size_t)> m_on_stored;
  std::unique_ptr<JobThread> m_checker; // last: its thread stops before the rest goes
};

} // namespace cvmd
