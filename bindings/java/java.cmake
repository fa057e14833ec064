# java: not yet
