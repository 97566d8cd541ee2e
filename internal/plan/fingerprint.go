package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Fingerprint names everything that determines a job's output: the source's
// identity, the encoder and its version, every encoder setting and every
// planning setting, as key/value pairs. Two runs with equal fingerprints
// produce the same chunks.
type Fingerprint map[string]string

// Sum is a short digest of the whole fingerprint.
func (f Fingerprint) Sum() string {
	keys := f.keys()
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%s=%s\n", k, f[k])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func (f Fingerprint) keys() []string {
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Change is one setting that differs between two fingerprints.
type Change struct {
	Key      string
	Old, New string
}

func (c Change) String() string {
	show := func(s string) string {
		if s == "" {
			return "(none)"
		}
		return s
	}
	return fmt.Sprintf("%s: %s -> %s", c.Key, show(c.Old), show(c.New))
}

// Diff lists the keys whose values differ between old and new, sorted.
func Diff(old, new Fingerprint) []Change {
	seen := map[string]bool{}
	var out []Change
	for _, k := range append(old.keys(), new.keys()...) {
		if seen[k] {
			continue
		}
		seen[k] = true
		if old[k] != new[k] {
			out = append(out, Change{Key: k, Old: old[k], New: new[k]})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// FormatChanges joins changes into one line.
func FormatChanges(cs []Change) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = c.String()
	}
	return strings.Join(parts, "; ")
}

// sampleSize is how much of the head and of the tail of a source is hashed.
const sampleSize = 1 << 20

// An Identity describes a file cheaply but well enough to notice that a
// different file now stands at the same path.
type Identity struct {
	Size   int64
	Mtime  string // the modification time, UTC, to the nanosecond
	Sample string // a hash of the first and last MiB
}

// SourceIdentity returns the identity of the file at path.
func SourceIdentity(path string) (Identity, error) {
	f, err := os.Open(path)
	if err != nil {
		return Identity{}, fmt.Errorf("fingerprint: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Identity{}, fmt.Errorf("fingerprint: %w", err)
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.LimitReader(f, sampleSize)); err != nil {
		return Identity{}, fmt.Errorf("fingerprint: read %s: %w", path, err)
	}
	if fi.Size() > 2*sampleSize {
		if _, err := f.Seek(-sampleSize, io.SeekEnd); err != nil {
			return Identity{}, fmt.Errorf("fingerprint: %w", err)
		}
		if _, err := io.Copy(h, f); err != nil {
			return Identity{}, fmt.Errorf("fingerprint: read %s: %w", path, err)
		}
	}
	return Identity{Size: fi.Size(), Mtime: fi.ModTime().UTC().Format("2006-01-02T15:04:05.000000000Z"), Sample: hex.EncodeToString(h.Sum(nil))[:16]}, nil
}
