#pragma once
// The daemon's log. Everything cvmd prints is a line on stdout (what happened) or stderr
// (what went wrong); with `logging: {format: json}` each of those lines becomes one JSON
// object written by spdlog — time (UTC), level, message — which log collectors take as they
// are. Text stays as it was otherwise.

#include <memory>
#include <string>

namespace cvmd {

class JsonLines
{
public:
  // Reroutes std::cout (level info) and std::cerr (level error) until destroyed.
  JsonLines();
  ~JsonLines();
  JsonLines(const JsonLines&) = delete;
  JsonLines& operator=(const JsonLines&) = delete;

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

} // namespace cvmd
