#pragma once
// One notion of "now" for the orchestrator: the daemon runs it on the wall clock, the
// simulation on a virtual clock that jumps from one due moment to the next.

#include <chrono>
#include <cstdint>

namespace cvmd {

class Clock
{
public:
  virtual ~Clock() = default;
  virtual std::int64_t now() const = 0; // seconds since the epoch, UTC
};

class WallClock : public Clock
{
public:
  std::int64_t now() const override
  {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  }
};

class VirtualClock : public Clock
{
public:
  explicit VirtualClock(std::int64_t start) : m_now(start) {}
  std::int64_t now() const override { return m_now; }
  void advance_to(std::int64_t t)
  {
    if (t > m_now) {
      m_now = t;
    }
  }

private:
  std::int64_t m_now;
};

} // namespace cvmd
