#include "engine/job_thread.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <mutex>
#include <string>
#include <stdexcept>
#include <thread>
#include <vector>

using namespace cvmd;

TEST_SUITE("engine")
{
  TEST_CASE("a job thread runs jobs in order, off the caller's thread, past one that throws")
  {
    std::vector<int> ran;
    std::atomic<bool> elsewhere{true};
    const auto caller = std::this_thread::get_id();
    {
      JobThread jobs;
      for (int i = 0; i < 100; ++i) {
        if (i == 50) {
          jobs.post([] { throw std::runtime_error("a job that fails"); });
        }
        jobs.post([&, i] {
          ran.push_back(i);
          if (std::this_thread::get_id() == caller) {
            elsewhere = false;
          }
        });
      }
    } // the destructor runs what is queued, then joins
    REQUIRE(ran.size() == 100);
    for (int i = 0; i < 100; ++i) {
      CHECK(ran[static_cast<std::size_t>(i)] == i);
    }
    CHECK(elsewhere);
  }
}

TEST_SUITE("engine")
{
  TEST_CASE("a job thread runs its idle work once the jobs handed over together are done")
  {
    // The jobs are posted while the first one waits, so they are all queued before the
    // queue runs empty: the idle work runs after the last of them, not between.
    std::vector<std::string> ran;
    std::mutex gate;
    std::unique_lock held(gate);
    {
      JobThread jobs([&] { ran.push_back("idle"); });
      jobs.post([&] {
        const std::lock_guard wait(gate);
        ran.push_back("first");
      });
      for (int i = 0; i < 3; ++i) {
        jobs.post([&] { ran.push_back("job"); });
      }
      held.unlock();
    }
    CHECK(ran == std::vector<std::string>{"first", "job", "job", "job", "idle"});
  }
}
