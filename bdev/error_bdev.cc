#include "bdev/error_bdev.h"

#include <atomic>
#include <cerrno>
#include <cstring>

#include "absl/synchronization/mutex.h"
#include "common/iov.h"

namespace blobfs {
namespace {

bool Overlaps(const ErrorRule& rule, IoType type, uint64_t offset, uint64_t length) {
  if (type == IoType::kFlush) return true;
  uint64_t rule_end = rule.length > UINT64_MAX - rule.offset ? UINT64_MAX : rule.offset + rule.length;
  return offset < rule_end && rule.offset < offset + length;
}

class ErrorDriver final : public BdevDriver, public ErrorInjector {
 public:
  ErrorDriver(std::string name, std::unique_ptr<BdevDescriptor> base)
      : name_(std::move(name)), base_(std::move(base)) {}

  const char* module_name() const override { return "error"; }
  bool Supports(IoType type) const override {
    if (type == IoType::kUnmap) return base_->bdev().Supports(IoType::kUnmap);
    return type != IoType::kReset;
  }
  uint32_t channel_queue_depth() const override { return 1024; }  // the base queues for itself
  Result<std::unique_ptr<DriverChannel>> CreateChannel(Reactor& reactor) override;

  void AddRule(const ErrorRule& rule) override {
    absl::MutexLock lock(&mutex_);
    rules_.push_back({rule, 0});
    UpdateActive();
  }
  void ClearRules() override {
    absl::MutexLock lock(&mutex_);
    rules_.clear();
    UpdateActive();
  }
  uint64_t injected_failures() const override {
    absl::MutexLock lock(&mutex_);
    return injected_failures_;
  }
  void StartRecording() override {
    absl::MutexLock lock(&mutex_);
    recording_ = true;
    UpdateActive();
  }
  void StopRecording() override {
    absl::MutexLock lock(&mutex_);
    recording_ = false;
    UpdateActive();
  }
  uint64_t bytes_read() const override { return bytes_read_.load(std::memory_order_relaxed); }
  void CountRead(uint64_t length) { bytes_read_.fetch_add(length, std::memory_order_relaxed); }
  std::vector<WriteLogEntry> TakeWriteLog() override {
    absl::MutexLock lock(&mutex_);
    return std::exchange(log_, {});
  }
  void DropWritesAfter(uint64_t applied) override {
    absl::MutexLock lock(&mutex_);
    dropping_ = true;
    writes_before_drop_ = applied;
    UpdateActive();
  }
  void StopDropping() override {
    absl::MutexLock lock(&mutex_);
    dropping_ = false;
    UpdateActive();
  }

  // What to do with a request, decided under the lock.
  struct Verdict {
    int fail_with = 0;  // errno, or 0
    bool drop = false;
  };
  Verdict Judge(IoType type, uint64_t offset, uint64_t length);
  void Log(IoType type, uint64_t offset, uint64_t length, std::span<const iovec> iov, bool dropped);
  bool active() const { return active_.load(std::memory_order_acquire); }
  bool recording() const {
    absl::MutexLock lock(&mutex_);
    return recording_;
  }
  const std::string& name() const { return name_; }
  BdevDescriptor& base() { return *base_; }

 private:
  struct ActiveRule {
    ErrorRule rule;
    uint64_t matched;
  };
  void UpdateActive() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    active_.store(!rules_.empty() || recording_ || dropping_, std::memory_order_release);
  }

  const std::string name_;
  const std::unique_ptr<BdevDescriptor> base_;
  std::atomic<bool> active_{false};  // lets the common case skip the lock
  std::atomic<uint64_t> bytes_read_{0};
  mutable absl::Mutex mutex_;
  std::vector<ActiveRule> rules_ ABSL_GUARDED_BY(mutex_);
  uint64_t injected_failures_ ABSL_GUARDED_BY(mutex_) = 0;
  bool recording_ ABSL_GUARDED_BY(mutex_) = false;
  std::vector<WriteLogEntry> log_ ABSL_GUARDED_BY(mutex_);
  bool dropping_ ABSL_GUARDED_BY(mutex_) = false;
  uint64_t writes_before_drop_ ABSL_GUARDED_BY(mutex_) = 0;
};

ErrorDriver::Verdict ErrorDriver::Judge(IoType type, uint64_t offset, uint64_t length) {
  absl::MutexLock lock(&mutex_);
  for (ActiveRule& active : rules_) {
    if ((active.rule.io_types & IoTypeBit(type)) == 0 || !Overlaps(active.rule, type, offset, length)) {
      continue;
    }
    uint64_t index = active.matched++;
    if (index >= active.rule.skip && index - active.rule.skip < active.rule.count) {
      ++injected_failures_;
      return {active.rule.error, false};
    }
    break;  // the first matching rule decides
  }
  if (dropping_ && type != IoType::kRead) {
    if (type == IoType::kFlush) return {0, writes_before_drop_ == 0};
    if (writes_before_drop_ == 0) return {0, true};
    --writes_before_drop_;
  }
  return {};
}

void ErrorDriver::Log(IoType type, uint64_t offset, uint64_t length, std::span<const iovec> iov,
                      bool dropped) {
  if (!recording()) return;
  WriteLogEntry entry{type, offset, length, {}, dropped};
  if (type == IoType::kWrite) {
    entry.data.resize(length);
    IovCopyToBuffer(iov, entry.data.data(), length);
  }
  absl::MutexLock lock(&mutex_);
  if (recording_) log_.push_back(std::move(entry));
}

class ErrorChannel final : public DriverChannel {
 public:
  ErrorChannel(ErrorDriver& driver, std::unique_ptr<BdevChannel> base)
      : driver_(driver), base_(std::move(base)) {}

  Task<Status> Submit(const IoRequest& request) override {
    const uint32_t block_size = base_->geometry().block_size;
    const uint64_t offset = request.offset_blocks * block_size;
    const uint64_t length = request.num_blocks * block_size;
    if (!driver_.active()) co_return co_await ForwardCounted(request.type, offset, length, request.iov);
    ErrorDriver::Verdict verdict = driver_.Judge(request.type, offset, length);
    if (verdict.fail_with != 0) {
      co_return MakeError(verdict.fail_with, "error bdev '%s': injected failure of %s of %lu bytes at offset %lu",
                          driver_.name(), IoTypeName(request.type), length, offset);
    }
    if (verdict.drop) {
      driver_.Log(request.type, offset, length, request.iov, /*dropped=*/true);
      co_return OkStatus();
    }
    Status status = co_await ForwardCounted(request.type, offset, length, request.iov);
    if (status.ok() && request.type != IoType::kRead) {
      driver_.Log(request.type, offset, length, request.iov, /*dropped=*/false);
    }
    co_return status;
  }

 private:
  Task<Status> ForwardCounted(IoType type, uint64_t offset, uint64_t length,
                              std::span<const iovec> iov) {
    Status status = co_await Forward(type, offset, length, iov);
    if (status.ok() && type == IoType::kRead) driver_.CountRead(length);
    co_return status;
  }
  Task<Status> Forward(IoType type, uint64_t offset, uint64_t length, std::span<const iovec> iov) {
    switch (type) {
      case IoType::kRead:
        return base_->Readv(offset, iov);
      case IoType::kWrite:
        return base_->Writev(offset, iov);
      case IoType::kWriteZeroes:
        return base_->WriteZeroes(offset, length);
      case IoType::kUnmap:
        return base_->Unmap(offset, length);
      case IoType::kFlush:
        return base_->Flush();
      case IoType::kReset:
        break;
    }
    return base_->Reset();
  }

  ErrorDriver& driver_;
  std::unique_ptr<BdevChannel> base_;
};

Result<std::unique_ptr<DriverChannel>> ErrorDriver::CreateChannel(Reactor&) {
  ASSIGN_OR_RETURN(std::unique_ptr<BdevChannel> base, base_->OpenChannel());
  return std::unique_ptr<DriverChannel>(new ErrorChannel(*this, std::move(base)));
}

}  // namespace

Result<std::shared_ptr<Bdev>> CreateErrorBdev(BdevRegistry& registry, std::string name,
                                              std::string_view base_name) {
  // The callback unregisters this bdev only: once it has been unregistered, its name may belong
  // to another bdev, which the removal of this one's base must leave alone.
  struct Self {
    absl::Mutex mutex;
    std::weak_ptr<Bdev> bdev ABSL_GUARDED_BY(mutex);
  };
  auto self = std::make_shared<Self>();
  auto on_base_removed = [&registry, name, self] {
    std::shared_ptr<Bdev> bdev;
    {
      absl::MutexLock lock(&self->mutex);
      bdev = self->bdev.lock();
    }
    if (bdev != nullptr && registry.Find(name) == bdev) (void)registry.Unregister(name);
  };
  ASSIGN_OR_RETURN(std::unique_ptr<BdevDescriptor> base,
                   registry.Open(base_name, OpenMode::kReadWrite, on_base_removed));
  BdevGeometry geometry = base->geometry();
  geometry.uuid = Uuid::Random();
  auto bdev =
      registry.Register(name, geometry, std::make_unique<ErrorDriver>(name, std::move(base)));
  if (bdev.ok()) {
    absl::MutexLock lock(&self->mutex);
    self->bdev = *bdev;
  }
  return bdev;
}

ErrorInjector* GetErrorInjector(Bdev& bdev) { return dynamic_cast<ErrorDriver*>(&bdev.driver()); }

Task<Status> ReplayWriteLog(std::span<const WriteLogEntry> entries, BdevChannel& target) {
  for (const WriteLogEntry& entry : entries) {
    if (entry.dropped) continue;
    switch (entry.type) {
      case IoType::kWrite:
        CO_RETURN_IF_ERROR(co_await target.Write(entry.offset, entry.data));
        break;
      case IoType::kWriteZeroes:
        CO_RETURN_IF_ERROR(co_await target.WriteZeroes(entry.offset, entry.length));
        break;
      case IoType::kUnmap:
        CO_RETURN_IF_ERROR(co_await target.Unmap(entry.offset, entry.length));
        break;
      case IoType::kFlush:
        CO_RETURN_IF_ERROR(co_await target.Flush());
        break;
      default:
        break;
    }
  }
  co_return OkStatus();
}

}  // namespace blobfs
