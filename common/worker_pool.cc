#include "common/worker_pool.h"

namespace blobfs {

WorkerPool::WorkerPool(size_t threads) {
  CHECK_GT(threads, 0u);
  for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { Work(); });
}

WorkerPool::~WorkerPool() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  for (std::thread& thread : threads_) thread.join();
}

void WorkerPool::Submit(absl::AnyInvocable<void() &&> job) {
  absl::MutexLock lock(&mutex_);
  jobs_.push_back(std::move(job));
}

void WorkerPool::Work() {
  while (true) {
    absl::AnyInvocable<void() &&> job;
    {
      absl::MutexLock lock(&mutex_);
      mutex_.Await(absl::Condition(this, &WorkerPool::HasWork));
      if (jobs_.empty()) return;  // Stopping, and nothing left.
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    std::move(job)();
  }
}

}  // namespace blobfs
