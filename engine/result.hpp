#pragma once
// A value or an error message: recoverable failures travel as values, like ccache's
// nonstd::expected; exceptions are for the top level only.

#include <string>
#include <utility>
#include <variant>

namespace cvmd {

template<typename T>
class Result
{
public:
  Result(T value) : m_state(std::move(value)) {}
  static Result failure(std::string message) { return Result(Failure{std::move(message)}); }

  explicit operator bool() const { return std::holds_alternative<T>(m_state); }
  T& operator*() { return std::get<T>(m_state); }
  const T& operator*() const { return std::get<T>(m_state); }
  T* operator->() { return &std::get<T>(m_state); }
  const T* operator->() const { return &std::get<T>(m_state); }
  const std::string& error() const { return std::get<Failure>(m_state).message; }

private:
  struct Failure
  {
    std::string message;
  };
  explicit Result(Failure failure) : m_state(std::move(failure)) {}
  std::variant<T, Failure> m_state;
};

} // namespace cvmd
