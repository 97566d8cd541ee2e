package rav1e

import (
	"context"
	"testing"
)

// BenchmarkSession320x180Speed10 measures in-process encoding of a 48-frame
// 320x180 clip at speed 10 (the frame rate is reported as frames/s).
// Compare with: rav1e clip.y4m -o out.ivf --speed 10 --tune Psnr.
func BenchmarkSession320x180Speed10(b *testing.B) {
	requireLib(b)
	y := readY4M(b, clip(b, "testsrc2-320x180", "-f", "lavfi", "-i", "testsrc2=s=320x180:r=24", "-frames:v", "24", "-pix_fmt", "yuv420p"))
	cfg := y.config(b)
	cfg.Speed = 10
	cfg.Params = psnr
	b.ResetTimer()
	frames := 0
	for i := 0; i < b.N; i++ {
		s, err := NewSession(context.Background(), cfg, func(*Packet) error { return nil })
		if err != nil {
			b.Fatal(err)
		}
		for _, fr := range y.frames {
			if err := s.WriteFrame(fr); err != nil {
				b.Fatal(err)
			}
		}
		if err := s.Stop(); err != nil {
			b.Fatal(err)
		}
		frames += len(y.frames)
	}
	b.ReportMetric(float64(frames)/b.Elapsed().Seconds(), "frames/s")
}
