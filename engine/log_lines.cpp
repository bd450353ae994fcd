#include "engine/log_lines.hpp"

#include "engine/values.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <iostream>
#include <mutex>
#include <streambuf>

namespace cvmd {

namespace {

// Collects what is written to a standard stream and hands over each finished line. The
// scheduler and the server thread write at once: one mutex for both streams.
class LineBuffer : public std::streambuf
{
public:
  LineBuffer(std::shared_ptr<spdlog::logger> logger, spdlog::level::level_enum level, std::mutex& mutex)
    : m_logger(std::move(logger)), m_level(level), m_mutex(mutex)
  {
  }

protected:
  int_type overflow(int_type c) override
  {
    if (c == traits_type::eof()) {
      return traits_type::not_eof(c);
    }
    std::lock_guard lock(m_mutex);
    if (c == '\n') {
      flush_line();
    } else {
      m_line += static_cast<char>(c);
    }
    return c;
  }

  std::streamsize xsputn(const char* data, std::streamsize size) override
  {
    std::lock_guard lock(m_mutex);
    for (std::streamsize i = 0; i < size; ++i) {
      if (data[i] == '\n') {
        flush_line();
      } else {
        m_line += data[i];
      }
    }
    return size;
  }

private:
  void flush_line()
  {
    m_logger->log(m_level, json_escaped(m_line));
    m_logger->flush();
    m_line.clear();
  }

  std::shared_ptr<spdlog::logger> m_logger;
  spdlog::level::level_enum m_level;
  std::mutex& m_mutex;
  std::string m_line;
};

} // namespace

struct JsonLines::Impl
{
  std::mutex mutex;
  std::shared_ptr<spdlog::logger> logger;
  std::unique_ptr<LineBuffer> out;
  std::unique_ptr<LineBuffer> err;
  std::streambuf* old_out = nullptr;
  std::streambuf* old_err = nullptr;
};

JsonLines::JsonLines() : m_impl(std::make_unique<Impl>())
{
  // spdlog writes to the real stdout through C stdio, not through std::cout (rerouted).
  m_impl->logger = std::make_shared<spdlog::logger>("cvmd", std::make_shared<spdlog::sinks::stdout_sink_mt>());
  m_impl->logger->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","message":"%v"})",
                              spdlog::pattern_time_type::utc);
  m_impl->out = std::make_unique<LineBuffer>(m_impl->logger, spdlog::level::info, m_impl->mutex);
  m_impl->err = std::make_unique<LineBuffer>(m_impl->logger, spdlog::level::err, m_impl->mutex);
  m_impl->old_out = std::cout.rdbuf(m_impl->out.get());
  m_impl->old_err = std::cerr.rdbuf(m_impl->err.get());
}

JsonLines::~JsonLines()
{
  std::cout.rdbuf(m_impl->old_out);
  std::cerr.rdbuf(m_impl->old_err);
}

} // namespace cvmd
