package av1job

import (
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/av1job/av1job/internal/probe"
)

// workers returns how many chunks to encode at once.
func (j *job) workers(pending int) int {
	n := j.o.Workers
	if n == 0 {
		n = AutoWorkers(j.src.Video.Width, j.src.Video.Height, probe.LayoutFor(j.src.Video.PixFmt).BitDepth)
	}
	return max(1, min(n, pending))
}

// AutoWorkers is the default number of parallel encoders: one per core,
// bounded so that the encoders' estimated memory fits in the available
// memory.
func AutoWorkers(width, height, bitDepth int) int {
	n := runtime.NumCPU()
	if avail := memAvailable(); avail > 0 {
		if fit := int(avail / encoderMemory(width, height, bitDepth)); fit < n {
			n = fit
		}
	}
	return max(1, n)
}

// encoderMemory estimates one rav1e process's resident memory: a fixed part
// plus frame buffers for the lookahead and reference frames, and ffmpeg's
// decoder.
func encoderMemory(width, height, bitDepth int) int64 {
	sample := int64(1)
	if bitDepth > 8 {
		sample = 2
	}
	frame := int64(width) * int64(height) * 3 / 2 * sample
	return 64<<20 + frame*120
}

func memAvailable() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		var kb int64
		if _, err := fmt.Sscanf(line, "MemAvailable: %d kB", &kb); err == nil {
			return kb << 10
		}
	}
	return 0
}
