package scene

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
)

// sizes collects the compressed size of every packet of the video stream,
// keyed by timestamp: what a frame cost its source's encoder predicts what
// it costs ours. The pass's ffmpeg copies the stream's packets to a second
// output, framecrc (one line per packet with its timestamp and size), as it
// decodes them: no second program reads the file.
type sizes struct {
	mu       sync.Mutex
	by       map[int64]int64 // packet size by timestamp, of the packets before the last one
	last     int64           // the last packet's timestamp
	lastSize int64
	seen     bool
	done     bool // the scan has ended (failed or not)
	err      error
	wait     chan struct{}
}

// scanSizes reads framecrc's lines from r until it ends.
func scanSizes(r io.Reader) *sizes {
	s := &sizes{by: map[int64]int64{}, wait: make(chan struct{})}
	go func() {
		err := s.scan(r)
		s.mu.Lock()
		if s.seen {
			s.by[s.last] += s.lastSize
			s.seen = false
		}
		s.done, s.err = true, err
		s.mu.Unlock()
		close(s.wait)
	}()
	return s
}

// scan reads framecrc's packet lines ("stream, dts, pts, duration, size,
// checksum[, F=flags]", in the stream's own time base under -copyts, after
// "#" header lines). A packet without a timestamp (AVI's B-frames) is left
// out, so that its frame counts 0.
func (s *sizes) scan(r io.Reader) error {
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		if line != "" && line[0] != '#' {
			f := strings.Split(line, ",")
			if len(f) >= 5 {
				pts, e1 := strconv.ParseInt(strings.TrimSpace(f[2]), 10, 64)
				size, e2 := strconv.ParseInt(strings.TrimSpace(f[4]), 10, 64)
				if e1 == nil && e2 == nil && pts != math.MinInt64 {
					s.add(pts, size)
				}
			}
		}
		if err != nil {
			if err != io.EOF {
				return fmt.Errorf("packet sizes: %w", err)
			}
			return nil
		}
	}
}

// add takes the next packet. A frame whose picture comes in several
// packets in a row (one timestamp) counts them all; its size is final once
// a packet of another timestamp follows (or the scan has ended).
func (s *sizes) add(pts, size int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen && pts == s.last {
		s.lastSize += size
		return
	}
	if s.seen {
		s.by[s.last] += s.lastSize
	}
	s.last, s.lastSize, s.seen = pts, size, true
}

// fill sets bytes[i] for frames [from, n) with timestamps pts, as far as
// the scan has reached: it returns the frame before which every frame's
// size is known, which is n once the scan has ended (frames without a
// packet of their own then count 0).
func (s *sizes) fill(bytes []int64, pts []int64, from, n int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := from; i < n; i++ {
		v, ok := s.by[pts[i]]
		if !ok && !s.done {
			return i
		}
		bytes[i] = v
	}
	return n
}
