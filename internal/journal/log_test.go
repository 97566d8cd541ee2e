package journal

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// line returns the on-disk line for payload, built independently of the
// package's encoder.
func line(payload string) string {
	return fmt.Sprintf("%08x %s\n", crc32.Checksum([]byte(payload), crc32.MakeTable(crc32.Castagnoli)), payload)
}

func payloads(n int) []string {
	p := make([]string, n)
	for i := range p {
		p[i] = fmt.Sprintf(`{"chunk":%d,"state":"done","crf":%d}`, i, 20+i)
	}
	return p
}

// writeLog creates a log file at a new path containing the lines for ps.
func writeLog(t *testing.T, ps []string) (path string, lines []string) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "journal.log")
	var b strings.Builder
	for _, p := range ps {
		lines = append(lines, line(p))
		b.WriteString(line(p))
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, lines
}

func mustOpen(t *testing.T, path string) (*Log, []Record) {
	t.Helper()
	l, recs, err := Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l, recs
}

func checkPayloads(t *testing.T, recs []Record, want []string) {
	t.Helper()
	got := make([]string, len(recs))
	for i, r := range recs {
		got[i] = string(r.Payload)
	}
	if strings.Join(got, "|") != strings.Join(want, "|") || len(got) != len(want) {
		t.Fatalf("records:\n got %q\nwant %q", got, want)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func TestAppendReopenRoundTrip(t *testing.T) {
	want := []string{
		`{"a":1}`,
		"",
		" leading and trailing spaces ",
		"binary \x00\x01\xff\r\t bytes",
		strings.Repeat("x", 70000),
	}
	path := filepath.Join(t.TempDir(), "journal.log")
	l, recs, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 0 || l.Dropped() != nil {
		t.Fatalf("new log: %d records, dropped %v", len(recs), l.Dropped())
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Fatalf("created file: %v %v", fi, err)
	}
	for _, p := range want {
		if err := l.Append([]byte(p)); err != nil {
			t.Fatalf("Append(%q): %v", p, err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	var wantFile string
	for _, p := range want {
		wantFile += line(p)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != wantFile {
		t.Fatalf("file content differs from the documented format")
	}
	if got := line(`{"a":1}`); got != "cff7d56a {\"a\":1}\n" {
		t.Fatalf("documented example is wrong: %q", got)
	}

	l2, recs := mustOpen(t, path)
	checkPayloads(t, recs, want)
	if l2.Dropped() != nil {
		t.Fatalf("dropped %v", l2.Dropped())
	}
	var off int64
	for i, r := range recs {
		if r.Offset != off {
			t.Fatalf("record %d offset %d, want %d", i, r.Offset, off)
		}
		off += int64(len(line(want[i])))
	}
	// Payloads must not alias each other's bytes.
	recs[0].Payload = append(recs[0].Payload, '!')
	checkPayloads(t, recs[1:], want[1:])

	recs2, dropped, err := ReadAll(path)
	if err != nil || dropped != nil {
		t.Fatalf("ReadAll: %v %v", dropped, err)
	}
	checkPayloads(t, recs2, want)
}

func TestAppendRejectsNewline(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.log")
	l, _ := mustOpen(t, path)
	for _, p := range []string{"\n", "a\nb", "trailing\n"} {
		if err := l.Append([]byte(p)); err == nil || !strings.HasPrefix(err.Error(), "journal: append: ") {
			t.Fatalf("Append(%q) = %v, want journal: append error", p, err)
		}
	}
	if fileSize(t, path) != 0 {
		t.Fatal("rejected payload reached the file")
	}
	// A rejected payload does not break the log.
	if err := l.Append([]byte("ok")); err != nil {
		t.Fatal(err)
	}
	l.Close()
	_, recs := mustOpen(t, path)
	checkPayloads(t, recs, []string{"ok"})
}

func TestAppendAfterClose(t *testing.T) {
	l, _ := mustOpen(t, filepath.Join(t.TempDir(), "journal.log"))
	l.Close()
	if err := l.Append([]byte("x")); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("Append after Close = %v, want os.ErrClosed", err)
	}
}

// TestTornTail cuts the last record's line at every length shorter than the
// full line, as a crash during the final write would.
func TestTornTail(t *testing.T) {
	const n = 4
	ps := payloads(n)
	_, lines := writeLog(t, ps)
	validEnd := int64(len(strings.Join(lines[:n-1], "")))
	full := strings.Join(lines, "")
	for cut := 0; cut < len(lines[n-1]); cut++ {
		t.Run(fmt.Sprint(cut), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "journal.log")
			if err := os.WriteFile(path, []byte(full[:validEnd+int64(cut)]), 0o644); err != nil {
				t.Fatal(err)
			}
			l, recs, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			checkPayloads(t, recs, ps[:n-1])
			if got := fileSize(t, path); got != validEnd {
				t.Fatalf("size after Open = %d, want %d", got, validEnd)
			}
			d := l.Dropped()
			if cut == 0 && d != nil {
				t.Fatalf("clean cut reported dropped %v", d)
			}
			if cut > 0 && (len(d) != 1 || d[0].Offset != validEnd || d[0].Len != cut ||
				!strings.HasPrefix(d[0].Reason, "truncated: ")) {
				t.Fatalf("dropped = %+v, want one truncated entry at %d len %d", d, validEnd, cut)
			}
			if err := l.Append([]byte(ps[n-1])); err != nil {
				t.Fatal(err)
			}
			l.Close()
			l2, recs := mustOpen(t, path)
			checkPayloads(t, recs, ps)
			if l2.Dropped() != nil {
				t.Fatalf("dropped after repair: %v", l2.Dropped())
			}
		})
	}
}

func TestCorruptTail(t *testing.T) {
	const n = 3
	ps := payloads(n)
	tests := []struct {
		name string
		tail string
	}{
		{"garbage", "garbage"},
		{"garbage line", "garbage\n"},
		{"garbage lines", "garbage\nmore garbage\n\n"},
		{"zero bytes", strings.Repeat("\x00", 4096)},
		{"zero bytes and newline", "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\n\x00\x00"},
		{"bad checksum last", "00000000 " + ps[0] + "\n"},
		{"uppercase checksum", strings.ToUpper(line(ps[0])[:8]) + line(ps[0])[8:]},
		{"no separator", strings.Replace(line(ps[0]), " ", "_", 1)},
		{"short line", "abc\n"},
		{"valid without newline", strings.TrimSuffix(line("late"), "\n")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, lines := writeLog(t, ps)
			validEnd := int64(len(strings.Join(lines, "")))
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.WriteString(tt.tail)
			f.Close()

			recs, dropped, err := ReadAll(path)
			if err != nil {
				t.Fatal(err)
			}
			checkPayloads(t, recs, ps)
			if len(dropped) == 0 || dropped[0].Offset != validEnd {
				t.Fatalf("ReadAll dropped = %+v", dropped)
			}
			if fileSize(t, path) != validEnd+int64(len(tt.tail)) {
				t.Fatal("ReadAll modified the file")
			}

			l, recs := mustOpen(t, path)
			checkPayloads(t, recs, ps)
			if got := fileSize(t, path); got != validEnd {
				t.Fatalf("size after Open = %d, want %d", got, validEnd)
			}
			total := 0
			for _, d := range l.Dropped() {
				if d.Offset < validEnd || !strings.HasPrefix(d.Reason, "truncated: ") {
					t.Fatalf("unexpected dropped entry %+v", d)
				}
				total += d.Len
			}
			if total != len(tt.tail) {
				t.Fatalf("dropped %d bytes, want %d", total, len(tt.tail))
			}
			if err := l.Append([]byte("next")); err != nil {
				t.Fatal(err)
			}
			l.Close()
			l2, recs := mustOpen(t, path)
			checkPayloads(t, recs, append(ps, "next"))
			if l2.Dropped() != nil {
				t.Fatalf("dropped after repair: %v", l2.Dropped())
			}
		})
	}
}

func TestCorruptMiddle(t *testing.T) {
	ps := payloads(5)
	tests := []struct {
		name    string
		corrupt func(line []byte) // mutates record 2's line in place
		keep    []int             // indices of the payloads that survive
		dropLen func(lines []string) int
	}{
		{"payload bit", func(b []byte) { b[12] ^= 0x01 }, []int{0, 1, 3, 4}, nil},
		{"checksum digit", func(b []byte) { b[3] ^= 0x01 }, []int{0, 1, 3, 4}, nil},
		{"checksum non-hex", func(b []byte) { b[0] = 'G' }, []int{0, 1, 3, 4}, nil},
		{"separator", func(b []byte) { b[8] ^= 0x40 }, []int{0, 1, 3, 4}, nil},
		// A flipped newline merges records 2 and 3 into one bad line.
		{"newline bit", func(b []byte) { b[len(b)-1] ^= 0x01 }, []int{0, 1, 4},
			func(lines []string) int { return len(lines[2]) + len(lines[3]) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, lines := writeLog(t, ps)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			off := len(lines[0]) + len(lines[1])
			tt.corrupt(data[off : off+len(lines[2])])
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, i := range tt.keep {
				want = append(want, ps[i])
			}
			wantLen := len(lines[2])
			if tt.dropLen != nil {
				wantLen = tt.dropLen(lines)
			}
			for reopen := range 2 {
				l, recs := mustOpen(t, path)
				checkPayloads(t, recs, want)
				d := l.Dropped()
				if len(d) != 1 || d[0].Offset != int64(off) || d[0].Len != wantLen ||
					strings.HasPrefix(d[0].Reason, "truncated") {
					t.Fatalf("open %d: dropped = %+v, want one skipped entry at %d len %d", reopen, d, off, wantLen)
				}
				if fileSize(t, path) != int64(len(data)) {
					t.Fatal("Open changed the middle of the log")
				}
				l.Close()
			}
		})
	}
}

// faultyFile wraps the real log file and fails on demand.
type faultyFile struct {
	logFile
	partial   int   // on failing write, bytes actually written first
	writeErr  error // returned by Write if set
	syncErr   error // returned by Sync if set
	failCount int
}

func (f *faultyFile) Write(p []byte) (int, error) {
	if f.writeErr == nil {
		return f.logFile.Write(p)
	}
	f.failCount++
	n, _ := f.logFile.Write(p[:f.partial])
	return n, f.writeErr
}

func (f *faultyFile) Sync() error {
	if f.syncErr == nil {
		return f.logFile.Sync()
	}
	f.failCount++
	return f.syncErr
}

func TestAppendStickyError(t *testing.T) {
	injected := errors.New("injected I/O error")
	ps := payloads(3)
	tests := []struct {
		name  string
		fault faultyFile
		want  []string // records after reopening
	}{
		{"write fails after partial write", faultyFile{partial: 7, writeErr: injected}, ps[:1]},
		{"write fails with nothing written", faultyFile{writeErr: injected}, ps[:1]},
		// The line reached the page cache, so it is found on reopen.
		{"fsync fails", faultyFile{syncErr: injected}, ps[:2]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "journal.log")
			l, _ := mustOpen(t, path)
			if err := l.Append([]byte(ps[0])); err != nil {
				t.Fatal(err)
			}
			fault := tt.fault
			fault.logFile = l.f
			l.f = &fault

			err := l.Append([]byte(ps[1]))
			if !errors.Is(err, injected) || !strings.HasPrefix(err.Error(), "journal: append: ") {
				t.Fatalf("failing Append = %v", err)
			}
			// The device recovers, but the log stays broken.
			fault.writeErr, fault.syncErr = nil, nil
			for range 3 {
				if err2 := l.Append([]byte(ps[2])); err2 != err {
					t.Fatalf("later Append = %v, want sticky %v", err2, err)
				}
			}
			if fault.failCount != 1 {
				t.Fatalf("file touched %d times after breaking", fault.failCount)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}

			// Reopening repairs the tail and the log is usable again.
			l2, recs := mustOpen(t, path)
			checkPayloads(t, recs, tt.want)
			if err := l2.Append([]byte(ps[2])); err != nil {
				t.Fatal(err)
			}
			l2.Close()
			_, recs = mustOpen(t, path)
			checkPayloads(t, recs, append(tt.want[:len(tt.want):len(tt.want)], ps[2]))
		})
	}
}

func TestShortWriteBreaksLog(t *testing.T) {
	l, _ := mustOpen(t, filepath.Join(t.TempDir(), "journal.log"))
	l.f = shortWriter{l.f}
	if err := l.Append([]byte("x")); err == nil || l.Append([]byte("y")) != err {
		t.Fatalf("short write not treated as sticky failure: %v", err)
	}
}

type shortWriter struct{ logFile }

func (w shortWriter) Write(p []byte) (int, error) { return w.logFile.Write(p[:len(p)-1]) }

func TestConcurrentAppend(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.log")
	l, _ := mustOpen(t, path)
	const workers, each = 4, 20
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				if err := l.Append(fmt.Appendf(nil, `{"w":%d,"i":%d}`, w, i)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	l.Close()
	recs, dropped, err := ReadAll(path)
	if err != nil || dropped != nil || len(recs) != workers*each {
		t.Fatalf("ReadAll: %d records, dropped %v, err %v", len(recs), dropped, err)
	}
}

func TestReadAllMissing(t *testing.T) {
	_, _, err := ReadAll(filepath.Join(t.TempDir(), "nope.log"))
	if !errors.Is(err, os.ErrNotExist) || !strings.HasPrefix(err.Error(), "journal: read: ") {
		t.Fatalf("ReadAll(missing) = %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := Open(filepath.Join(dir, "missing", "journal.log")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Open in missing dir = %v", err)
	}
	if _, _, err := Open(dir); err == nil || !strings.HasPrefix(err.Error(), "journal: open: ") {
		t.Fatalf("Open(directory) = %v", err)
	}
}

func TestParseCRCRejects(t *testing.T) {
	for _, s := range []string{"", "0000000", "000000000", "0000000A", "0000000g", "+0000000", " 0000000"} {
		if _, ok := parseCRC([]byte(s)); ok {
			t.Errorf("parseCRC(%q) accepted", s)
		}
	}
	for _, c := range []uint32{0, 1, 0xdeadbeef, 0xffffffff} {
		got, ok := parseCRC(appendCRC(nil, c))
		if !ok || got != c || !bytes.Equal(appendCRC(nil, c), fmt.Appendf(nil, "%08x", c)) {
			t.Errorf("round trip of %#x failed", c)
		}
	}
}
