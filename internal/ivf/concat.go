package ivf

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// concatRef is what every Concat input is compared against: the first
// input's header and sequence header.
type concatRef struct {
	path string
	hdr  Header
	seq  []byte
}

// Concat joins the IVF chunk files named by paths, in order, into one IVF
// stream written to dst, without re-encoding.
//
// Before writing anything it checks every input completely: the file
// header must be valid; fourcc, width, height and rate (RateNum and
// RateDen exactly) must equal the first input's; the file must hold at
// least one frame and end cleanly after a complete frame (a torn tail is
// an error, wrapping ErrTruncated); every frame must pass ValidTU; the
// first frame must be a keyframe (IsKeyframe) whose sequence header OBU is
// byte-identical to the first input's. Input timestamps and header frame
// counts are ignored.
//
// It then writes the first input's header with Frames set to the total,
// followed by every frame with its timestamp renumbered 0..N-1, checking
// each input again as it copies it (so a file changed in between is
// caught). It returns the number of frames written. Errors name the
// offending file ("ivf: <path>: ..."); after an error dst may hold a
// partial stream and should be discarded.
func Concat(dst io.Writer, paths []string) (frames int, err error) {
	if len(paths) == 0 {
		return 0, errors.New("ivf: concat: no input files")
	}
	var ref concatRef
	counts := make([]int, len(paths))
	total := 0
	for i, p := range paths {
		n, err := walkChunk(p, i == 0, &ref, nil)
		if err != nil {
			return 0, err
		}
		counts[i] = n
		total += n
	}
	if total > math.MaxUint32 {
		return 0, fmt.Errorf("ivf: concat: %d frames exceed the header's frame count field", total)
	}
	h := ref.hdr
	h.Frames = uint32(total)
	w, err := NewWriter(dst, h)
	if err != nil {
		return 0, err
	}
	for i, p := range paths {
		n, err := walkChunk(p, false, &ref, func(f Frame) error {
			return w.WriteFrame(uint64(w.Frames()), f.Data)
		})
		if err != nil {
			return w.Frames(), err
		}
		if n != counts[i] {
			return w.Frames(), fmt.Errorf("ivf: %s: changed during concat: %d frames, scanned %d", p, n, counts[i])
		}
	}
	return w.Frames(), nil
}

// walkChunk reads and checks one Concat input, calling emit (if not nil)
// for each frame after checking it. With first set it fills ref from
// this file instead of comparing against it.
func walkChunk(path string, first bool, ref *concatRef, emit func(Frame) error) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("ivf: concat: %w", err)
	}
	defer f.Close()
	rd, err := newReader(bufio.NewReaderSize(f, 1<<16))
	if err != nil {
		return 0, fmt.Errorf("ivf: %s: %w", path, err)
	}
	rd.reuse = true // frames are copied by emit, the sequence header cloned
	if first {
		ref.path, ref.hdr = path, rd.Header()
	} else if d := sameFormat(rd.Header(), ref.hdr); d != "" {
		return 0, fmt.Errorf("ivf: %s: %s in %s", path, d, ref.path)
	}
	n := 0
	for ; ; n++ {
		fr, err := rd.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return n, fmt.Errorf("ivf: %s: %w", path, err)
		}
		if err := checkFrame(n, fr.Data); err != nil {
			return n, fmt.Errorf("ivf: %s: frame %d: %w", path, n, err)
		}
		if n == 0 {
			seq := SequenceHeader(fr.Data)
			if first {
				ref.seq = bytes.Clone(seq)
			} else if !bytes.Equal(seq, ref.seq) {
				return n, fmt.Errorf("ivf: %s: sequence header differs from the one in %s", path, ref.path)
			}
		}
		if emit != nil {
			if err := emit(fr); err != nil {
				return n, err
			}
		}
	}
	if n == 0 {
		return 0, fmt.Errorf("ivf: %s: no frames: %w", path, ErrCorrupt)
	}
	return n, nil
}
