package plan

// Resumed reports whether t's last timing resumed from a mark of the one
// before.
func Resumed(t *Timer) bool { return t.resumed }
