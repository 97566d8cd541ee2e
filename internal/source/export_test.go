package source

// Reread reports whether f's seek missed its range and the range was read
// from the start.
func Reread(f *Frames) bool { return f.reread }
