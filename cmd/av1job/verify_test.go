package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/av1job/av1job/internal/quality"
	"github.com/av1job/av1job/internal/verify"
)

func TestVerifyFlags(t *testing.T) {
	dir := t.TempDir()
	plot := filepath.Join(dir, "q.svg")
	cases := []struct {
		name       string
		vf         verifyFlags
		changed    []string
		want       string // in the error; "" for none
		wantMetric string
	}{
		{name: "off", vf: verifyFlags{metric: verify.MetricOptions{Stat: "mean"}}},
		{name: "metric", vf: verifyFlags{metric: verify.MetricOptions{Metric: "psnr", Stat: "p5"}}, wantMetric: "psnr"},
		{name: "plot implies ssimulacra2", vf: verifyFlags{plot: plot, metric: verify.MetricOptions{Stat: "mean"}}, wantMetric: quality.SSIMULACRA2},
		{name: "plot keeps psnr", vf: verifyFlags{plot: plot, metric: verify.MetricOptions{Metric: "psnr", Stat: "mean"}}, wantMetric: "psnr"},
		{name: "unknown metric", vf: verifyFlags{metric: verify.MetricOptions{Metric: "vmaf", Stat: "mean"}}, want: `--metric: unknown metric "vmaf"`},
		{name: "unknown stat", vf: verifyFlags{metric: verify.MetricOptions{Metric: "psnr", Stat: "avg"}}, want: `--quality-stat: unknown statistic "avg"`},
		{name: "stat without metric", vf: verifyFlags{metric: verify.MetricOptions{Stat: "min"}}, changed: []string{"quality-stat"}, want: "--quality-stat needs --metric or --plot"},
		{name: "chunks without metric", vf: verifyFlags{chunks: true, metric: verify.MetricOptions{Stat: "mean"}}, changed: []string{"chunks"}, want: "--chunks needs --metric or --plot"},
		{name: "plot not svg", vf: verifyFlags{plot: filepath.Join(dir, "out.mkv"), metric: verify.MetricOptions{Stat: "mean"}}, want: "must end in .svg"},
		{name: "plot in no directory", vf: verifyFlags{plot: filepath.Join(dir, "none", "q.svg"), metric: verify.MetricOptions{Stat: "mean"}}, want: "no directory"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			changed := func(name string) bool {
				for _, c := range tc.changed {
					if c == name {
						return true
					}
				}
				return false
			}
			err := tc.vf.check(changed)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("error %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want %q", err, tc.want)
			case tc.want == "" && tc.vf.metric.Metric != tc.wantMetric:
				t.Errorf("metric %q, want %q", tc.vf.metric.Metric, tc.wantMetric)
			}
		})
	}
}

// TestVerifyBadInput runs the command: bad flags and unreadable files
// exit with the usage code and one line naming them.
func TestVerifyBadInput(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "a.mkv")
	if err := os.WriteFile(src, []byte("x"), 0o666); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"verify", src, src, "--metric", "vmaf"},
		{"verify", src, src, "--plot", filepath.Join(dir, "nodir", "p.svg")},
		{"verify", filepath.Join(dir, "missing.mkv"), src, "--metric", "psnr"},
	} {
		if code := run(args); code != exitUsage {
			t.Errorf("%q: exit %d, want %d", args, code, exitUsage)
		}
	}
}
