package scene

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/av1job/av1job/internal/probe"
	"github.com/av1job/av1job/internal/tools"
)

// sizes scans the compressed size of every packet of the video stream
// (ffprobe, demuxing only, much faster than decoding), keyed by timestamp:
// what a frame cost its source's encoder predicts what it costs ours. The
// scan runs beside the decode.
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

func scanSizes(ctx context.Context, src *probe.Source) *sizes {
	s := &sizes{by: map[int64]int64{}, wait: make(chan struct{})}
	go func() {
		err := s.scan(ctx, src)
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

func (s *sizes) scan(ctx context.Context, src *probe.Source) error {
	cmd, err := tools.Command(ctx, tools.FFprobe, "-v", "error", "-select_streams", strconv.Itoa(src.Video.Index),
		"-show_entries", "packet=pts,size", "-of", "csv=p=0", "file:"+src.Path)
	if err != nil {
		return err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("packet sizes: %w", err)
	}
	// The scan runs at the decode's priority: a lower one starves it on
	// a busy machine, and the chunks wait for their sizes.
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("packet sizes: %w", err)
	}
	br := bufio.NewReader(out)
	for {
		line, err := br.ReadString('\n')
		if p, z, ok := strings.Cut(strings.TrimSpace(line), ","); ok {
			pts, e1 := strconv.ParseInt(p, 10, 64)
			size, e2 := strconv.ParseInt(strings.TrimSuffix(z, ","), 10, 64)
			if e1 == nil && e2 == nil {
				s.add(pts, size)
			}
		}
		if err != nil {
			if err != io.EOF {
				return fmt.Errorf("packet sizes: %w", err)
			}
			break
		}
	}
	return cmd.Wait()
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
