// A FUSE-over-io_uring ring entry: a request laid out as the kernel writes it reads back as the
// /dev/fuse byte stream, lengths that do not fit are refused, and replies land where the kernel
// reads them (header and payload split, pieces that alias the request's payload, data built in
// place, oversize replies turned into EIO).
#include "fuse/uring_entry.h"

#include <cerrno>
#include <cstring>
#include <span>
#include <string>

#include "gtest/gtest.h"

namespace blobfs {
namespace {

constexpr size_t kPayload = 8192;

// Lays out a request as the kernel does: header, per-opcode struct, the rest in the payload.
void PutRequest(RingEntry& entry, uint32_t opcode, const std::string& op_in,
                const std::string& rest) {
  wire::uring::ReqHeader& headers = entry.headers();
  const wire::InHeader in{.len = static_cast<uint32_t>(sizeof(wire::InHeader) + op_in.size() +
                                                       rest.size()),
                          .opcode = opcode,
                          .unique = 77,
                          .nodeid = 1};
  std::memcpy(headers.in_out, &in, sizeof(in));
  std::memcpy(headers.op_in, op_in.data(), op_in.size());
  std::memcpy(entry.payload.data(), rest.data(), rest.size());
  headers.ring_ent_in_out.payload_sz = static_cast<uint32_t>(rest.size());
}

std::string Flatten(const std::array<iovec, 3>& pieces) {
  std::string bytes;
  for (const iovec& piece : pieces) bytes.append(static_cast<const char*>(piece.iov_base), piece.iov_len);
  return bytes;
}

wire::OutHeader OutHeaderOf(RingEntry& entry) {
  wire::OutHeader out;
  std::memcpy(&out, entry.headers().in_out, sizeof(out));
  return out;
}

TEST(RingEntryTest, RequestReadsAsTheDevFuseByteStream) {
  RingEntry entry(kPayload);
  const std::string op_in(40, 'o');  // e.g. a WriteIn
  const std::string rest(5000, 'd');
  PutRequest(entry, wire::kWrite, op_in, rest);
  Result<std::array<iovec, 3>> request = RequestOf(entry);
  ASSERT_TRUE(request.ok()) << request.error();
  const std::string bytes = Flatten(*request);
  ASSERT_EQ(bytes.size(), sizeof(wire::InHeader) + op_in.size() + rest.size());
  wire::InHeader in;
  std::memcpy(&in, bytes.data(), sizeof(in));
  EXPECT_EQ(in.opcode, wire::kWrite);
  EXPECT_EQ(in.unique, 77u);
  EXPECT_EQ(bytes.substr(sizeof(in), op_in.size()), op_in);
  EXPECT_EQ(bytes.substr(sizeof(in) + op_in.size()), rest);
}

TEST(RingEntryTest, LengthsThatDoNotFitTheLayoutAreRefused) {
  RingEntry entry(kPayload);
  PutRequest(entry, wire::kLookup, "", "name");
  // A payload larger than the entry's buffer.
  entry.headers().ring_ent_in_out.payload_sz = kPayload + 1;
  EXPECT_EQ(RequestOf(entry).error().code(), EINVAL);
  // A header length shorter than header plus payload.
  PutRequest(entry, wire::kLookup, "", "name");
  wire::InHeader in;
  std::memcpy(&in, entry.headers().in_out, sizeof(in));
  in.len = sizeof(in) + 2;
  std::memcpy(entry.headers().in_out, &in, sizeof(in));
  EXPECT_EQ(RequestOf(entry).error().code(), EINVAL);
  // A per-opcode part longer than op_in can hold.
  in.len = sizeof(in) + wire::uring::kOpInSize + 1 + 4;
  std::memcpy(entry.headers().in_out, &in, sizeof(in));
  EXPECT_EQ(RequestOf(entry).error().code(), EINVAL);
}

TEST(RingEntryTest, ReplySplitsIntoHeaderAndPayload) {
  RingEntry entry(kPayload);
  const wire::OutHeader out{.len = sizeof(wire::OutHeader) + 6, .error = 0, .unique = 77};
  // The header itself arrives in two pieces, the data in another two.
  const std::string head(reinterpret_cast<const char*>(&out), sizeof(out));
  const std::string first = head.substr(0, 5);
  const std::string second = head.substr(5) + "ab";
  const std::string third = "cdef";
  const iovec reply[3] = {{const_cast<char*>(first.data()), first.size()},
                          {const_cast<char*>(second.data()), second.size()},
                          {const_cast<char*>(third.data()), third.size()}};
  RingReplySink sink(entry, 77);
  ASSERT_TRUE(sink.Send(reply).ok());
  EXPECT_TRUE(sink.sent());
  EXPECT_EQ(OutHeaderOf(entry).len, out.len);
  EXPECT_EQ(OutHeaderOf(entry).unique, 77u);
  EXPECT_EQ(entry.headers().ring_ent_in_out.payload_sz, 6u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(entry.payload.data()), 6), "abcdef");
}

TEST(RingEntryTest, ReplyMayPointIntoTheRequestPayload) {
  RingEntry entry(kPayload);
  char* payload = reinterpret_cast<char*>(entry.payload.data());
  std::memcpy(payload, "0123456789", 10);
  const wire::OutHeader out{.len = sizeof(wire::OutHeader) + 8, .error = 0, .unique = 5};
  // Data that starts two bytes into the payload moves to its start.
  const iovec reply[2] = {{const_cast<wire::OutHeader*>(&out), sizeof(out)}, {payload + 2, 8}};
  RingReplySink sink(entry, 5);
  ASSERT_TRUE(sink.Send(reply).ok());
  EXPECT_EQ(std::string(payload, 8), "23456789");
}

TEST(RingEntryTest, DataBuiltInPlaceStaysThere) {
  RingEntry entry(kPayload);
  RingReplySink sink(entry, 3);
  std::span<char> buffer = sink.DataBuffer();
  ASSERT_EQ(buffer.size(), kPayload);
  ASSERT_EQ(static_cast<void*>(buffer.data()), static_cast<void*>(entry.payload.data()));
  std::memset(buffer.data(), 'r', kPayload);
  const wire::OutHeader out{.len = sizeof(wire::OutHeader) + kPayload, .error = 0, .unique = 3};
  const iovec reply[2] = {{const_cast<wire::OutHeader*>(&out), sizeof(out)},
                          {buffer.data(), kPayload}};
  ASSERT_TRUE(sink.Send(reply).ok());
  EXPECT_EQ(entry.headers().ring_ent_in_out.payload_sz, kPayload);
  EXPECT_EQ(std::string(buffer.data(), kPayload), std::string(kPayload, 'r'));
}

TEST(RingEntryTest, OversizeReplyBecomesEio) {
  RingEntry entry(kPayload);
  const std::string big(kPayload + 1, 'x');
  const wire::OutHeader out{.len = static_cast<uint32_t>(sizeof(wire::OutHeader) + big.size()),
                            .error = 0,
                            .unique = 9};
  const iovec reply[2] = {{const_cast<wire::OutHeader*>(&out), sizeof(out)},
                          {const_cast<char*>(big.data()), big.size()}};
  RingReplySink sink(entry, 9);
  EXPECT_EQ(sink.Send(reply).error().code(), EMSGSIZE);
  EXPECT_TRUE(sink.sent());
  EXPECT_EQ(OutHeaderOf(entry).error, -EIO);
  EXPECT_EQ(OutHeaderOf(entry).unique, 9u);
  EXPECT_EQ(OutHeaderOf(entry).len, sizeof(wire::OutHeader));
  EXPECT_EQ(entry.headers().ring_ent_in_out.payload_sz, 0u);
}

}  // namespace
}  // namespace blobfs
