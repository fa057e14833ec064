// SPDX-License-Identifier: MIT
// One TCP link to a peer: the handshake, then encrypted frames.
#pragma once

#include <uv.h>

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "core/node.hpp"
#include "crypto/channel.hpp"
#include "crypto/handshake.hpp"

namespace chord::net {

class NodeHost;

struct Connection {
  enum class State { Connecting, Handshaking, Open, Closing };

  NodeHost* host = nullptr;
  uv_tcp_t tcp{};
  State state = State::Connecting;
  bool outbound = false;
  bool dirty = false;       // has bytes waiting in outbuf, listed for flush
  bool got_bytes = false;   // the peer sent anything at all
  uint64_t opened_ms = 0;   // for the handshake deadline
  std::string dial_addr;    // outbound: the address dialled (key of by_addr)
  std::string remote;       // the socket's remote address, for logs
  core::Peer peer;          // id once authenticated; addr as advertised
  uint16_t protocol = 0;    // the version both speak, once authenticated
  uint64_t features = 0;    // the peer's feature bits that we know
  bool peer_newer = false;  // it speaks versions above ours: skip what it appended
  std::unique_ptr<crypto::Handshake> hs;
  std::unique_ptr<crypto::Channel> channel;
  std::vector<uint8_t> outbuf;  // sealed bytes not yet handed to the kernel
  size_t writes_in_flight = 0;
  // Backpressure (NodeHost::send_on): not reading the peer while it leaves
  // half of max_output_bytes unread; since when no write of ours completed.
  bool reading_paused = false;
  uint64_t drained_ms = 0;
  // Messages of the read during which the pause came, not yet handed to the
  // node (at most one read buffer's worth).
  std::deque<wire::Message> held;
  // Fairness: bytes read from this peer in the loop turn read_turn; past
  // kReadBudgetPerTurn it is not read again until the next turn.
  uint64_t read_turn = 0;
  size_t turn_bytes = 0;
  bool budget_paused = false;
  // Messages queued while connecting; sent once the channel is up.
  std::vector<std::pair<core::Peer, wire::Message>> pending;
};

}  // namespace chord::net
