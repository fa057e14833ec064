# SPDX-License-Identifier: MIT
# A three-node ring in one process: the dictionary, an event and a message.
require 'chord'

opts = { stabilize_ms: 50, rpc_timeout: 0.3 }
a, b, c = Array.new(3) { Chord::ChordSocket.new('127.0.0.1', 0, **opts) }
begin
  b.connect(*a.addr)
  c.connect(*a.addr)
  # Joins return at once; wait until every successor is the next id in ring order.
  ids = [a, b, c].map(&:id).sort
  deadline = Time.now + 15
  until [a, b, c].all? { |n| n.stats[:successor_id] == ids[(ids.index(n.id) + 1) % 3] }
    raise 'the ring did not settle' if Time.now > deadline

    sleep 0.05
  end

  added = Queue.new
  c.on(:add) { |key| added << key }

  a['greeting'] = 'hello'
  puts "b reads #{b['greeting'].inspect}"
  puts "c saw a new key: #{Timeout.timeout(10) { added.pop }.inspect}"

  a.broadcast('ping', "\x00binary")
  msg = b.recv(timeout: 10)
  puts "b got #{msg.packets.inspect} from #{msg.addr}"
  msg.reply('pong')
  puts "a got #{a.recv(timeout: 10).packets.inspect}"

  c.delete('greeting')
  puts "after delete: #{a.fetch('greeting', 'absent')}"
ensure
  [a, b, c].each { |s| s&.close }
end
