# SPDX-License-Identifier: MIT
"""A three-node ring in one process: the dictionary, an event and a message."""
import threading
import time

import chord


def wait_for_ring(nodes, limit=15.0):
    """Joins return at once; the ring's pointers settle in the background."""
    ids = sorted(n.id for n in nodes)
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        settled = True
        for n in nodes:
            s, i = n.stats(), ids.index(n.id)
            settled &= s['successor_id'] == ids[(i + 1) % len(ids)]
            settled &= s['predecessor_id'] == ids[i - 1]
        if settled:
            return
        time.sleep(0.05)
    raise TimeoutError('the ring did not settle')

opts = dict(stabilize_ms=50, rpc_timeout=0.3)
with chord.ChordSocket('127.0.0.1', 0, **opts) as a, \
        chord.ChordSocket('127.0.0.1', 0, **opts) as b, \
        chord.ChordSocket('127.0.0.1', 0, **opts) as c:
    b.connect(*a.addr)
    c.connect(*a.addr)
    wait_for_ring([a, b, c])

    added = threading.Event()

    @c.on('add')
    def on_add(sock, key):
        print('node c saw a new key:', key)
        added.set()

    a['greeting'] = 'hello'             # str keys and values are stored as UTF-8
    print('b reads', b['greeting'])     # b'hello'
    added.wait(10)

    a.send('ping', b'\x00binary')       # a broadcast of two packets
    msg = b.recv(timeout=10)
    print('b got', msg.packets, 'from', msg.sender.hex()[:8])
    msg.reply('pong')
    print('a got', a.recv(timeout=10).packets)

    del c['greeting']
    print('after delete:', a.get('greeting', 'absent'))
