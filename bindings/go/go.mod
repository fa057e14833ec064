// SPDX-License-Identifier: MIT
module libchord.org/chord

go 1.19
