// Command mksample writes a synthetic sample clip with known scene cuts,
// audio and subtitles, for the demo and the benchmarks.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/av1job/av1job/internal/testclip"
)

func main() {
	out := flag.String("o", "sample.mkv", "output file")
	w := flag.Int("w", 640, "width")
	h := flag.Int("h", 360, "height")
	rate := flag.String("r", "24", "frame rate")
	secs := flag.Float64("t", 20, "duration in seconds (rounded to whole scenes of ~3.3 s)")
	flag.Parse()
	var fps float64
	if _, err := fmt.Sscanf(*rate, "%g", &fps); err != nil || fps <= 0 {
		fmt.Fprintln(os.Stderr, "mksample: bad -r", *rate)
		os.Exit(2)
	}
	segs := testclip.DefaultSegments
	segFrames := int(*secs * fps / float64(len(segs)))
	s := testclip.Spec{Width: *w, Height: *h, Rate: *rate, Segments: segs, SegFrames: segFrames, Audio: true, Subtitles: true}
	if err := testclip.Make(context.Background(), s, *out); err != nil {
		fmt.Fprintln(os.Stderr, "mksample:", err)
		os.Exit(1)
	}
	fmt.Printf("%s: %d frames, %dx%d at %s fps, scene cuts at %v\n", *out, s.Frames(), *w, *h, *rate, s.Cuts())
}
