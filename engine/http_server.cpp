#include "engine/http_server.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <array>
#include <iostream>
#include <memory>
#include <mutex>

namespace cvmd {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// One connection: read a request, answer it, again while the client keeps it alive.
class Session : public std::enable_shared_from_this<Session>
{
public:
  Session(tcp::socket&& socket, const ServerSettings& settings, const HttpHandler& handler,
          std::shared_ptr<std::size_t> open)
    : m_stream(std::move(socket)), m_settings(settings), m_handler(handler), m_open(std::move(open))
  {
    ++*m_open;
  }
  ~Session() { --*m_open; }

  void run()
  {
    net::dispatch(m_stream.get_executor(), beast::bind_front_handler(&Session::do_read, shared_from_this()));
  }

private:
  void do_read()
  {
    m_parser.emplace();
    m_parser->body_limit(m_settings.body_limit);
    m_parser->header_limit(16 * 1024);
    m_stream.expires_after(m_settings.timeout);
    http::async_read(m_stream, m_buffer, *m_parser, beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t)
  {
    if (ec == http::error::end_of_stream) {
      return do_close();
    }
    if (ec == http::error::body_limit) {
      m_drain = true;
      return send_error(http::status::payload_too_large, "the body is over the limit\n");
    }
    if (ec == http::error::header_limit) {
      return send_error(http::status::request_header_fields_too_large, "the headers are too large\n");
    }
    if (ec) {
      return; // timeout or a broken request: the connection is dropped
    }
    const auto& request = m_parser->get();
    HttpRequestView view;
    view.method = std::string(request.method_string());
    view.target = std::string(request.target());
    for (const auto& field : request) {
      auto name = std::string(field.name_string());
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
      view.headers[name] = std::string(field.value());
    }
    view.body = request.body();
    const auto respond = [self = shared_from_this()](HttpReply reply) {
      net::post(self->m_stream.get_executor(),
                [self, reply = std::move(reply)]() mutable { self->answer(std::move(reply)); });
    };
    try {
      m_handler(view, respond);
    } catch (const std::exception&) {
      respond(HttpReply::text(500, "internal error\n"));
    }
  }

  void answer(HttpReply reply)
  {
    const auto& request = m_parser->get();
    auto response =
      std::make_shared<http::response<http::string_body>>(static_cast<http::status>(reply.status), request.version());
    response->set(http::field::server, "cvmd");
    response->set(http::field::content_type, reply.content_type);
    for (const auto& [name, value] : reply.headers) {
      response->set(name, value);
    }
    response->keep_alive(request.keep_alive());
    response->body() = request.method() == http::verb::head ? std::string() : std::move(reply.body);
    response->prepare_payload();
    do_write(std::move(response));
  }

  void send_error(http::status status, const std::string& text)
  {
    auto response = std::make_shared<http::response<http::string_body>>(status, 11);
    response->set(http::field::content_type, "text/plain; charset=utf-8");
    response->keep_alive(false);
    response->body() = text;
    response->prepare_payload();
    do_write(std::move(response));
  }

  void do_write(std::shared_ptr<http::response<http::string_body>> response)
  {
    m_stream.expires_after(m_settings.timeout);
    http::async_write(m_stream, *response,
                      [self = shared_from_this(), response](beast::error_code ec, std::size_t bytes) {
                        self->on_write(response->keep_alive(), ec, bytes);
                      });
  }

  void on_write(bool keep_alive, beast::error_code ec, std::size_t)
  {
    if (ec) {
      return;
    }
    if (!keep_alive) {
      return m_drain ? do_drain() : do_close();
    }
    do_read();
  }

  // A client refused for its body's size is usually still sending it: closing now would
  // reset the connection, and the client might never read the 413. The rest is read and
  // dropped, up to a bound and a short timeout.
  void do_drain()
  {
    do_close();
    if (!m_scratch) {
      m_scratch = std::make_unique<std::array<char, 16384>>();
    }
    m_stream.expires_after(std::chrono::seconds(5));
    m_stream.async_read_some(net::buffer(*m_scratch), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
      self->on_drain(ec, n);
    });
  }

  void on_drain(beast::error_code ec, std::size_t bytes)
  {
    constexpr std::size_t most = 64u << 20;
    m_drained += bytes;
    if (ec || m_drained > most) {
      return; // the client is done (or too much): the socket closes with the session
    }
    m_stream.expires_after(std::chrono::seconds(5));
    m_stream.async_read_some(net::buffer(*m_scratch),
                             [self = shared_from_this()](beast::error_code e, std::size_t n) { self->on_drain(e, n); });
  }

  void do_close()
  {
    beast::error_code ec;
    m_stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  beast::tcp_stream m_stream;
  beast::flat_buffer m_buffer;
  std::optional<http::request_parser<http::string_body>> m_parser;
  const ServerSettings& m_settings;
  const HttpHandler& m_handler;
  std::shared_ptr<std::size_t> m_open; // sessions alive; one thread, so no atomics
  bool m_drain = false;
  std::size_t m_drained = 0;
  std::unique_ptr<std::array<char, 16384>> m_scratch;
};

class Listener : public std::enable_shared_from_this<Listener>
{
public:
  Listener(net::io_context& io, tcp::acceptor&& acceptor, const ServerSettings& settings, const HttpHandler& handler)
    : m_io(io), m_acceptor(std::move(acceptor)), m_settings(settings), m_handler(handler)
  {
  }

  void run() { do_accept(); }
  void stop()
  {
    beast::error_code ec;
    m_acceptor.close(ec);
  }

private:
  void do_accept()
  {
    m_acceptor.async_accept(net::make_strand(m_io),
                            beast::bind_front_handler(&Listener::on_accept, shared_from_this()));
  }

  void on_accept(beast::error_code ec, tcp::socket socket)
  {
    if (ec == net::error::operation_aborted) {
      return; // stopping
    }
    if (ec) {
      // Out of file descriptors, most likely: accepting again at once would spin on the
      // same error; a short pause lets idle connections time out.
      m_pause.expires_after(std::chrono::milliseconds(100));
      m_pause.async_wait([self = shared_from_this()](beast::error_code) { self->do_accept(); });
      return;
    }
    if (*m_open >= m_settings.max_connections) {
      // Refused cleanly: a short answer, written without waiting, and the socket closed.
      static const std::string busy = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                                      "Retry-After: 1\r\nConnection: close\r\n\r\n";
      beast::error_code ignored;
      socket.non_blocking(true, ignored);
      socket.write_some(net::buffer(busy), ignored);
      socket.close(ignored);
    } else {
      std::make_shared<Session>(std::move(socket), m_settings, m_handler, m_open)->run();
    }
    do_accept();
  }

  net::io_context& m_io;
  tcp::acceptor m_acceptor;
  net::steady_timer m_pause{m_io};
  std::shared_ptr<std::size_t> m_open = std::make_shared<std::size_t>(0);
  const ServerSettings& m_settings;
  const HttpHandler& m_handler;
};

} // namespace

Result<bool>
serve_http(const ServerSettings& settings, HttpHandler handler,
           const std::function<void(const std::string& address, Defer defer)>& on_listening,
           const std::function<void()>& on_reload, const std::function<void()>& on_stopping)
{
  const auto colon = settings.listen.rfind(':');
  if (colon == std::string::npos) {
    return Result<bool>::failure("server.listen: '" + settings.listen + "' is not HOST:PORT");
  }
  beast::error_code ec;
  const auto address = net::ip::make_address(settings.listen.substr(0, colon), ec);
  const auto port_text = settings.listen.substr(colon + 1);
  if (ec || port_text.empty() || port_text.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(port_text) > 65535) {
    return Result<bool>::failure("server.listen: '" + settings.listen + "' is not an IP address and a port");
  }
  net::io_context io{1};
  tcp::acceptor acceptor(io);
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(std::stoul(port_text)));
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) {
    acceptor.set_option(net::socket_base::reuse_address(true), ec);
    acceptor.bind(endpoint, ec);
  }
  if (!ec) {
    acceptor.listen(net::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    return Result<bool>::failure("cannot listen on " + settings.listen + ": " + ec.message());
  }
  const auto bound = acceptor.local_endpoint();
  auto listener = std::make_shared<Listener>(io, std::move(acceptor), settings, handler);
  listener->run();
  net::signal_set hangup(io, SIGHUP);
  std::function<void(beast::error_code, int)> on_hangup = [&](beast::error_code error, int) {
    if (error) {
      return; // stopping
    }
    on_reload();
    hangup.async_wait(on_hangup);
  };
  hangup.async_wait(on_hangup);
  net::signal_set signals(io, SIGINT, SIGTERM);
  net::steady_timer grace(io);
  signals.async_wait([&](beast::error_code, int) {
    // Stop accepting; the answers in flight get a moment to finish, then run() returns.
    listener->stop();
    hangup.cancel();
    on_stopping();
    grace.expires_after(std::chrono::seconds(1));
    grace.async_wait([&](beast::error_code) { io.stop(); });
  });
  // Work may be handed over from other threads (the dashboard's builder) until the very
  // end; once the loop is over it is dropped instead of posted to a context that is gone.
  struct Gate
  {
    std::mutex mutex;
    net::io_context* io = nullptr;
  };
  const auto gate = std::make_shared<Gate>();
  gate->io = &io;
  const auto closed = [&gate] {
    const std::lock_guard lock(gate->mutex);
    gate->io = nullptr;
  };
  on_listening(bound.address().to_string() + ":" + std::to_string(bound.port()), [gate](std::function<void()> work) {
    const std::lock_guard lock(gate->mutex);
    if (gate->io) {
      net::post(*gate->io, std::move(work));
    }
  });
  while (true) {
    try {
      io.run();
      closed();
      return true;
    } catch (const std::exception& e) {
      // One connection's trouble (an allocation, a header Beast refuses) must not end the
      // daemon: log it and go on serving.
      std::cerr << "cvmd serve: " << e.what() << "\n";
    }
  }
}

} // namespace cvmd
