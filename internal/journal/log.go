package journal

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sync"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// crcLen is the length of the checksum field; a line's header is the
// checksum plus one space.
const (
	crcLen    = 8
	headerLen = crcLen + 1
)

// logFile is the part of *os.File a Log uses after Open. It is an interface
// so tests can inject write and fsync failures.
type logFile interface {
	Write(p []byte) (int, error)
	Sync() error
	Close() error
}

// Log is an append-only file of checksummed records, one per line, in the
// format described in the package documentation:
//
//	<8 lowercase hex digits of CRC-32C (Castagnoli) of payload> <space> <payload> <newline>
//
// A Log is safe for concurrent use by multiple goroutines. Only one Log per
// file may be open at a time; the job directory [Lock] guarantees that across
// processes.
type Log struct {
	mu      sync.Mutex
	f       logFile // nil after Close
	err     error   // sticky: set by the first failed write or fsync
	dropped []Dropped
}

// Record is one valid record read from a log.
type Record struct {
	// Offset is the byte offset of the start of the record's line.
	Offset int64
	// Payload is the record's payload, without checksum or newline.
	Payload []byte
}

// Dropped describes a line that was not returned as a record because it was
// torn or corrupt.
type Dropped struct {
	// Offset is the byte offset of the start of the line.
	Offset int64
	// Len is the length of the line in bytes, including its newline if any.
	Len int
	// Reason says why the line is invalid. Lines that Open truncated away
	// have a reason starting with "truncated: ".
	Reason string
}

// Open opens the log at path, creating it with mode 0644 (and fsyncing its
// directory) if it does not exist, and returns it together with every valid
// record in file order.
//
// Everything after the last valid record (a torn last line without a
// trailing newline, a last line with a bad checksum, garbage or zero bytes)
// is truncated away and the file fsynced before Open returns, so appends
// start on a clean line. An invalid line followed by a valid record is
// skipped and left in place. Both kinds are reported by [Log.Dropped]. Open
// fails only if the file cannot be opened, read, truncated or synced; corrupt
// content is never an error.
func Open(path string) (*Log, []Record, error) {
	f, created, err := openOrCreate(path)
	if err != nil {
		return nil, nil, fmt.Errorf("journal: open: %w", err)
	}
	fail := func(err error) (*Log, []Record, error) {
		f.Close()
		return nil, nil, fmt.Errorf("journal: open: %w", err)
	}
	if created {
		if err := SyncDir(filepath.Dir(path)); err != nil {
			return fail(err)
		}
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return fail(err)
	}
	recs, dropped, validEnd := parse(data)
	if validEnd < int64(len(data)) {
		for i := range dropped {
			if dropped[i].Offset >= validEnd {
				dropped[i].Reason = "truncated: " + dropped[i].Reason
			}
		}
		if err := f.Truncate(validEnd); err != nil {
			return fail(err)
		}
		if err := f.Sync(); err != nil {
			return fail(err)
		}
	}
	return &Log{f: f, dropped: dropped}, recs, nil
}

// openOrCreate opens path for appending, creating it if needed. created
// reports whether this call created the file.
func openOrCreate(path string) (f *os.File, created bool, err error) {
	for range 3 {
		f, err = os.OpenFile(path, os.O_RDWR|os.O_APPEND, 0)
		if !errors.Is(err, os.ErrNotExist) {
			return f, false, err
		}
		f, err = os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE|os.O_EXCL, 0o644)
		if !errors.Is(err, os.ErrExist) {
			return f, err == nil, err
		}
		// Someone created it between the two calls; open it again.
	}
	return nil, false, err
}

// Append writes payload as one record and fsyncs the file. When it returns
// nil the record is durable. payload must not contain a newline; such a
// payload is rejected without touching the file or breaking the Log.
//
// The whole line is written with a single write call. If the write or the
// fsync fails, the Log is broken: the error is sticky and every later Append
// returns it, because the state of the file (and of the kernel's page cache
// after a failed fsync) is unknown. The record may or may not be on disk.
// Close the Log and Open the file again to recover; Open discards a torn
// tail.
func (l *Log) Append(payload []byte) error {
	if bytes.IndexByte(payload, '\n') >= 0 {
		return errors.New("journal: append: payload contains a newline")
	}
	line := make([]byte, 0, headerLen+len(payload)+1)
	line = appendCRC(line, crc32.Checksum(payload, castagnoli))
	line = append(line, ' ')
	line = append(line, payload...)
	line = append(line, '\n')

	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return fmt.Errorf("journal: append: %w", os.ErrClosed)
	}
	if l.err != nil {
		return l.err
	}
	n, err := l.f.Write(line)
	if err == nil && n != len(line) {
		err = io.ErrShortWrite
	}
	if err != nil {
		l.err = fmt.Errorf("journal: append: write: %w", err)
		return l.err
	}
	if err := l.f.Sync(); err != nil {
		l.err = fmt.Errorf("journal: append: fsync: %w", err)
		return l.err
	}
	return nil
}

// Dropped returns the lines Open found invalid, in file order: skipped
// middle lines and truncated tail lines (whose Reason starts with
// "truncated: "). It returns a copy; nil means the log was clean.
func (l *Log) Dropped() []Dropped {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.dropped == nil {
		return nil
	}
	return append([]Dropped(nil), l.dropped...)
}

// Close closes the log file. It does not fsync: every successful Append
// already has. After Close, Append fails with an error wrapping
// [os.ErrClosed]; calling Close again returns nil.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	if err != nil {
		return fmt.Errorf("journal: close: %w", err)
	}
	return nil
}

// ReadAll reads the log at path without modifying it and returns its valid
// records and its invalid lines, including a torn tail (which may be an
// append in progress by the owning process). It is meant for read-only
// readers such as `status` in another process. A missing file yields an
// error wrapping [os.ErrNotExist].
func ReadAll(path string) ([]Record, []Dropped, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("journal: read: %w", err)
	}
	recs, dropped, _ := parse(data)
	return recs, dropped, nil
}

// parse splits data into lines and classifies each one as a valid record or
// a dropped line; together they cover data exactly, in order. validEnd is the
// offset just past the last valid record (0 if there is none).
func parse(data []byte) (recs []Record, dropped []Dropped, validEnd int64) {
	for off := 0; off < len(data); {
		var (
			end    int
			reason string
		)
		i := bytes.IndexByte(data[off:], '\n')
		if i < 0 {
			end = len(data)
			reason = "no trailing newline"
		} else {
			end = off + i + 1
			var payload []byte
			payload, reason = checkLine(data[off : end-1])
			if reason == "" {
				// Cap the capacity so appending to one payload cannot
				// overwrite the next.
				recs = append(recs, Record{Offset: int64(off), Payload: payload[:len(payload):len(payload)]})
				validEnd = int64(end)
			}
		}
		if reason != "" {
			dropped = append(dropped, Dropped{Offset: int64(off), Len: end - off, Reason: reason})
		}
		off = end
	}
	return recs, dropped, validEnd
}

// checkLine validates one line (without its newline) and returns its payload,
// or a non-empty reason why it is invalid.
func checkLine(line []byte) (payload []byte, reason string) {
	if len(line) < headerLen {
		return nil, "short line"
	}
	want, ok := parseCRC(line[:crcLen])
	if !ok {
		return nil, "malformed checksum"
	}
	if line[crcLen] != ' ' {
		return nil, "missing separator"
	}
	payload = line[headerLen:]
	if crc32.Checksum(payload, castagnoli) != want {
		return nil, "checksum mismatch"
	}
	return payload, ""
}

const hexDigits = "0123456789abcdef"

// appendCRC appends c as exactly 8 lowercase hex digits.
func appendCRC(b []byte, c uint32) []byte {
	for shift := 28; shift >= 0; shift -= 4 {
		b = append(b, hexDigits[(c>>uint(shift))&0xf])
	}
	return b
}

// parseCRC parses exactly 8 lowercase hex digits.
func parseCRC(b []byte) (uint32, bool) {
	if len(b) != crcLen {
		return 0, false
	}
	var c uint32
	for _, d := range b {
		switch {
		case '0' <= d && d <= '9':
			c = c<<4 | uint32(d-'0')
		case 'a' <= d && d <= 'f':
			c = c<<4 | uint32(d-'a'+10)
		default:
			return 0, false
		}
	}
	return c, true
}
