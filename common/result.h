// Result<T>: the error-as-value type every Arrow library returns at its boundary.
//
// Library code never exits or throws across a module boundary; it returns an Error whose
// message names the file, line or address at fault and, where possible, what to do. The CLI
// maps errors to exit codes at the edge. Kept deliberately small (C++20 has no std::expected).
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace arrow {

struct Error {
  std::string message;
};

// Builds an Error from pieces: Err("x.recipe:3:1: ", "bad key").
template <typename... Parts>
Error Err(Parts&&... parts) {
  std::string m;
  (m.append(std::forward<Parts>(parts)), ...);
  return Error{std::move(m)};
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}            // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}        // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { return std::get<1>(v_); }
  const std::string& message() const { return error().message; }

 private:
  std::variant<T, Error> v_;
};

// Result<void>: success carries nothing.
struct Ok {};
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Ok) {}                                        // NOLINT(google-explicit-constructor)
  Result(Error error) : err_(std::move(error)), failed_(true) {}  // NOLINT
  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const Error& error() const { return err_; }
  const std::string& message() const { return err_.message; }

 private:
  Error err_;
  bool failed_ = false;
};

using Status = Result<void>;

}  // namespace arrow

// Propagates an error from an expression returning Result<...>.
#define ARROW_TRY(expr)                                  \
  do {                                                   \
    auto arrow_try_r_ = (expr);                          \
    if (!arrow_try_r_.ok()) return arrow_try_r_.error(); \
  } while (0)
