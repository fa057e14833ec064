// SPDX-License-Identifier: MIT
// The ring invariants the simulator checks (after Zave):
//  - every member's successor list is ordered clockwise, without duplicates or
//    itself, and holds at least one live node (unless the member is alone);
//  - following each member's first live successor gives exactly one cycle,
//    and that cycle goes round the ring once, in id order;
//  - ideal (after quiescence): the cycle is every live member in id order, each
//    member's successor list is the next members, its predecessor the previous.
#pragma once

#include <string>

namespace chord::sim {

class Sim;

// "" if the invariants hold, else the first violation, naming node ids.
std::string check_invariants(const Sim& sim, bool ideal);

}  // namespace chord::sim
