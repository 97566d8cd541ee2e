package ivf

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
)

// ScanResult describes the valid prefix of an IVF stream.
type ScanResult struct {
	// Header is the stream's file header.
	Header Header
	// Frames is the number of complete, valid frames at the start of the
	// stream.
	Frames int
	// ValidSize is the byte length of the valid prefix: HeaderSize plus
	// FrameHeaderSize and the payload of each of those Frames frames.
	ValidSize int64
	// Err says why scanning stopped before the end of the input, or is nil
	// if the whole input is valid. It wraps ErrTruncated for a torn last
	// frame, ErrCorrupt for invalid data, or the read error otherwise.
	Err error
}

// Scan reads an IVF stream to its end and measures its valid prefix.
//
// Frame i is valid when its 12-byte header and its whole payload are
// present, its payload passes ValidTU, and, for the first frame,
// IsKeyframe holds. Scanning stops at the first frame that is not valid;
// what follows is not examined. A torn or garbage tail is reported in
// ScanResult.Err, not as an error: Scan returns an error (and a zero
// ScanResult) only when the file header cannot be read or is invalid.
// Timestamps and the header's frame count are not checked.
func Scan(r io.Reader) (ScanResult, error) {
	res, err := scan(r)
	if err != nil {
		return res, fmt.Errorf("ivf: %w", err)
	}
	if res.Err != nil {
		res.Err = fmt.Errorf("ivf: %w", res.Err)
	}
	return res, nil
}

// scan is Scan with errors lacking the "ivf: " prefix.
func scan(r io.Reader) (ScanResult, error) {
	rd, err := newReader(r)
	if err != nil {
		return ScanResult{}, err
	}
	rd.reuse = true
	res := ScanResult{Header: rd.Header(), ValidSize: HeaderSize}
	for {
		f, err := rd.next()
		if err == io.EOF {
			return res, nil
		}
		if err == nil {
			err = checkFrame(res.Frames, f.Data)
			if err != nil {
				err = fmt.Errorf("frame %d at offset %d: %w", res.Frames, res.ValidSize, err)
			}
		}
		if err != nil {
			res.Err = err
			return res, nil
		}
		res.Frames++
		res.ValidSize += FrameHeaderSize + int64(len(f.Data))
	}
}

// checkFrame applies Scan's per-frame rules to the payload of frame i.
func checkFrame(i int, tu []byte) error {
	if err := validTU(tu); err != nil {
		return err
	}
	if i == 0 && !IsKeyframe(tu) {
		return fmt.Errorf("first frame is not a keyframe with a sequence header: %w", ErrCorrupt)
	}
	return nil
}

// ScanFile is Scan on the file at path. Errors and ScanResult.Err name
// the file.
func ScanFile(path string) (ScanResult, error) {
	f, err := os.Open(path)
	if err != nil {
		return ScanResult{}, fmt.Errorf("ivf: scan: %w", err)
	}
	defer f.Close()
	return scanNamed(path, f)
}

func scanNamed(path string, f *os.File) (ScanResult, error) {
	res, err := scan(bufio.NewReaderSize(f, 1<<16))
	if err != nil {
		return res, fmt.Errorf("ivf: %s: %w", path, err)
	}
	if res.Err != nil {
		res.Err = fmt.Errorf("ivf: %s: %w", path, res.Err)
	}
	return res, nil
}

// Salvage scans the file at path (see Scan) and cuts it back to its valid
// prefix: it truncates the file to ValidSize if it is longer, then fsyncs
// it, so that after a nil error the file holds exactly ScanResult.Frames
// valid frames, durably. It never grows a file and never rewrites bytes
// (the header's frame count is left as it was).
//
// Salvage changes nothing and returns an error if the file cannot be
// opened for writing, its header is unreadable or invalid, or scanning
// stopped because of a read error rather than bad data (ScanResult.Err
// wraps neither ErrTruncated nor ErrCorrupt); an I/O failure is not
// evidence that the rest of the file is garbage.
func Salvage(path string) (ScanResult, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return ScanResult{}, fmt.Errorf("ivf: salvage: %w", err)
	}
	res, err := salvage(path, f)
	if cerr := f.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("ivf: salvage %s: close: %w", path, cerr)
	}
	return res, err
}

func salvage(path string, f *os.File) (ScanResult, error) {
	res, err := scanNamed(path, f)
	if err != nil {
		return res, err
	}
	if res.Err != nil && !errors.Is(res.Err, ErrTruncated) && !errors.Is(res.Err, ErrCorrupt) {
		return res, fmt.Errorf("ivf: salvage %s: not truncating after read error: %w", path, res.Err)
	}
	fi, err := f.Stat()
	if err != nil {
		return res, fmt.Errorf("ivf: salvage %s: %w", path, err)
	}
	if res.ValidSize > fi.Size() {
		// The file shrank under us; growing it would invent data.
		return res, fmt.Errorf("ivf: salvage %s: valid size %d exceeds file size %d", path, res.ValidSize, fi.Size())
	}
	if res.ValidSize < fi.Size() {
		if err := f.Truncate(res.ValidSize); err != nil {
			return res, fmt.Errorf("ivf: salvage %s: truncate: %w", path, err)
		}
	}
	if err := f.Sync(); err != nil {
		return res, fmt.Errorf("ivf: salvage %s: fsync: %w", path, err)
	}
	return res, nil
}
