package local

import (
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/av1job/av1job/internal/encode"
	"github.com/av1job/av1job/internal/probe"
)

// Workers returns how many chunks to encode at once: n when set, else one
// per core as far as the encoders' memory fits; never more than pending.
func Workers(n int, enc encode.Encoder, src *probe.Source, l probe.Layout, pending int) int {
	if n == 0 {
		n = autoWorkers(enc, src.Video.Width, src.Video.Height, l.BitDepth)
	}
	return max(1, min(n, pending))
}

// AutoWorkers is the default number of parallel encoders for a source of
// this size and bit depth with the default encoder: one per core, bounded
// so that the encoders' estimated memory fits in the available memory.
func AutoWorkers(width, height, bitDepth int) int {
	enc, _ := encode.Lookup(encode.Default)
	return autoWorkers(enc, width, height, bitDepth)
}

func autoWorkers(enc encode.Encoder, width, height, bitDepth int) int {
	n := runtime.NumCPU()
	if avail := memAvailable(); avail > 0 {
		if fit := int(avail / enc.Memory(width, height, bitDepth)); fit < n {
			n = fit
		}
	}
	return max(1, n)
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
