# go: not yet
