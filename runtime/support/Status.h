//===- Status.h - errors as values in the MLIR-free runtime -----------------===//
//
// Every parser and runtime call returns a Status or a Result<T>: a value or
// one line that names the file and the problem. No exceptions cross these
// APIs, and nothing aborts on bad input.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_RUNTIME_SUPPORT_STATUS_H
#define LLMC_RUNTIME_SUPPORT_STATUS_H

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace llmc {

class [[nodiscard]] Status {
public:
  Status() = default;
  static Status ok() { return Status(); }
  static Status error(std::string message) {
    Status s;
    s.message_ = std::move(message);
    if (s.message_->empty())
      s.message_ = "unknown error";
    return s;
  }
  bool isOk() const { return !message_.has_value(); }
  bool isError() const { return message_.has_value(); }
  const std::string &message() const {
    static const std::string empty;
    return message_ ? *message_ : empty;
  }
  /// Prefixes the message with context, e.g. the file name.
  Status withContext(const std::string &context) const {
    if (isOk())
      return *this;
    return error(context + ": " + *message_);
  }

private:
  std::optional<std::string> message_;
};

template <typename T> class [[nodiscard]] Result {
public:
  Result(T value) : storage_(std::move(value)) {}
  Result(Status status) : storage_(std::move(status)) {
    assert(std::get<Status>(storage_).isError() &&
           "a Result built from a Status must hold an error");
  }
  bool ok() const { return std::holds_alternative<T>(storage_); }
  explicit operator bool() const { return ok(); }
  Status status() const {
    return ok() ? Status::ok() : std::get<Status>(storage_);
  }
  const std::string &message() const {
    return std::get<Status>(storage_).message();
  }
  T &value() { return std::get<T>(storage_); }
  const T &value() const { return std::get<T>(storage_); }
  T &operator*() { return value(); }
  T *operator->() { return &value(); }
  const T *operator->() const { return &value(); }
  T take() { return std::move(std::get<T>(storage_)); }

private:
  std::variant<T, Status> storage_;
};

} // namespace llmc

/// Returns the error of a Status-returning expression from the caller.
#define LLMC_RETURN_IF_ERROR(expr)                                             \
  do {                                                                         \
    ::llmc::Status llmc_status_ = (expr);                                      \
    if (llmc_status_.isError())                                                \
      return llmc_status_;                                                     \
  } while (0)

#define LLMC_CONCAT_INNER(a, b) a##b
#define LLMC_CONCAT(a, b) LLMC_CONCAT_INNER(a, b)

/// `LLMC_ASSIGN_OR_RETURN(auto x, makeX());` binds the value or returns the
/// error.
#define LLMC_ASSIGN_OR_RETURN(decl, expr)                                      \
  LLMC_ASSIGN_OR_RETURN_IMPL(LLMC_CONCAT(llmc_result_, __LINE__), decl, expr)
#define LLMC_ASSIGN_OR_RETURN_IMPL(tmp, decl, expr)                            \
  auto tmp = (expr);                                                           \
  if (!tmp.ok())                                                               \
    return tmp.status();                                                       \
  decl = tmp.take()

#endif // LLMC_RUNTIME_SUPPORT_STATUS_H
