# ruby: not yet
