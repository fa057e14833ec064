module libchord.org/chord

go 1.19
