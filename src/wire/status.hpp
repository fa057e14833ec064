// SPDX-License-Identifier: MIT
// Result codes inside the library. They travel on the wire (OpResp.status,
// Ack.status), so they live with the wire format, below the core that
// returns them. Values equal the public CHORD_E* codes so that src/capi
// passes them through unchanged; this header keeps the core and the wire
// free of the public C header.
#pragma once

namespace chord {

enum Status : int {
  kOk = 0,
  kNotFound = -1,
  kTimedOut = -2,
  kInval = -3,
  kTooBig = -4,
  kClosed = -5,
  kNoQuorum = -6,
  kProto = -7,
  kNoMem = -8,
  kInternal = -9,
  kUnreachable = -10,
  kRefused = -11,
  kBusy = -12,
  kIo = -13,
  kIterOver = -50,
  // Inside the library only, never returned to a caller: "this owner holds a
  // newer version of the key than the write's stamp" (OpResp.hlc says which).
  // The origin stamps the write again above it and retries (routing.cpp).
  kStale = -100,
};

}  // namespace chord
