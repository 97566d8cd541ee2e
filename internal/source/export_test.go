package source

// Seeks returns how many tries Open took to start f: 1 when its first seek
// landed at or before the range.
func Seeks(f *Frames) int { return f.seeks }
