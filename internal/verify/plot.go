package verify

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/av1job/av1job/internal/journal"
	"github.com/av1job/av1job/internal/quality"
)

// Plot colours, from the Okabe-Ito palette, which readers with any common
// colour-vision deficiency tell apart.
const (
	scoreColor    = "#0072B2" // blue
	bitrateColor  = "#E69F00" // orange
	boundaryColor = "#555555" // grey, dashed
)

// The plot's size and the plot area within it, in pixels.
const (
	plotWidth, plotHeight = 900, 400
	areaLeft, areaRight   = 64, plotWidth - 72
	areaTop, areaBottom   = 74, plotHeight - 48
)

// WritePlot writes q.SVG to path atomically: through a temporary file in
// the same directory, renamed over path. On error path is untouched and no
// temporary file is left.
func WritePlot(path string, q *Quality) error {
	if err := journal.WriteFileAtomic(path, q.SVG(), 0o666); err != nil {
		return fmt.Errorf("write plot: %w", err)
	}
	return nil
}

// SVG draws q as a self-contained 900x400 SVG image: the score of every
// frame as a line along the frames, the bit rate of every chunk as bars on
// a second axis, a dashed vertical line at the start of every chunk but the
// first (class "boundary"), axes with ticks and labels, a title naming the
// files, and a legend. With more frames than two per pixel, the line joins
// the lowest and highest score of each pixel's frames, so dips stay
// visible.
func (q *Quality) SVG() []byte {
	var b bytes.Buffer
	n := len(q.Scores)
	w, h := float64(areaRight-areaLeft), float64(areaBottom-areaTop)
	frameX := func(f float64) float64 { return areaLeft + f/float64(max(n, 1))*w }

	// Axes: the score's on the left, the bit rate's on the right.
	lo, hi := q.Min, scoreMax(q.Scores)
	if n == 0 {
		lo, hi = 0, 100
	}
	sTicks, sLo, sHi := niceTicks(lo, hi, 5)
	scoreY := func(v float64) float64 { return areaBottom - (v-sLo)/(sHi-sLo)*h }
	var kMax float64
	for _, c := range q.Chunks {
		kMax = math.Max(kMax, c.Kbps)
	}
	// The bars reach about two thirds up, leaving the top to the line.
	kTicks, _, kHi := niceTicks(0, kMax*1.5, 5)
	kbpsY := func(v float64) float64 { return areaBottom - v/kHi*h }
	xTicks, _, _ := niceTicks(0, float64(max(n, 1)), 8)
	for len(xTicks) > 1 && xTicks[len(xTicks)-1] > float64(n) {
		xTicks = xTicks[:len(xTicks)-1] // the axis ends at the last frame
	}

	label := metricLabel(q.Metric)
	title := fmt.Sprintf("%s of %s against %s", label, filepath.Base(q.Output), filepath.Base(q.Source))
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" font-family="sans-serif" font-size="12">
<title>%s</title>
<rect width="100%%" height="100%%" fill="#ffffff"/>
`, plotWidth, plotHeight, plotWidth, plotHeight, esc(title))
	fmt.Fprintf(&b, "<text x=\"%d\" y=\"22\" font-size=\"15\" font-weight=\"bold\">%s</text>\n", areaLeft, esc(title))
	sub := fmt.Sprintf("%d frames, %d chunks; per frame mean %.2f, p5 %.2f, min %.2f", n, len(q.Chunks), q.Mean, q.P5, q.Min)
	if q.Worst >= 0 {
		c := q.Chunks[q.Worst]
		sub += fmt.Sprintf("; worst chunk %d (frames %d-%d) %.2f (%s)", q.Worst, c.Start, c.End-1, c.Score, q.Stat)
	}
	fmt.Fprintf(&b, "<text x=\"%d\" y=\"40\" fill=\"#333333\">%s</text>\n", areaLeft, esc(sub))

	// Legend, in a row above the plot area.
	ly := 60
	fmt.Fprintf(&b, `<g class="legend">
<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"/><text x="%d" y="%d">%s per frame (left axis)</text>
<rect x="%d" y="%d" width="18" height="10" fill="%s" fill-opacity="0.35" stroke="%s"/><text x="%d" y="%d">kbit/s per chunk (right axis)</text>
<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-dasharray="4 3"/><text x="%d" y="%d">chunk start (keyframe)</text>
</g>
`, areaLeft, ly-4, areaLeft+22, ly-4, scoreColor, areaLeft+28, ly, esc(label),
		areaLeft+250, ly-9, bitrateColor, bitrateColor, areaLeft+274, ly,
		areaLeft+480, ly-4, areaLeft+502, ly-4, boundaryColor, areaLeft+508, ly)

	// Grid lines and ticks of the score axis; ticks of the bit rate axis.
	b.WriteString("<g class=\"axes\" stroke=\"#000000\">\n")
	for _, v := range sTicks {
		y := scoreY(v)
		fmt.Fprintf(&b, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e0e0e0\"/>\n", areaLeft, y, areaRight, y)
		fmt.Fprintf(&b, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>\n", areaLeft-5, y, areaLeft, y)
		fmt.Fprintf(&b, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" stroke=\"none\">%s</text>\n", areaLeft-8, y+4, tickText(v, sTicks))
	}
	for _, v := range kTicks {
		y := kbpsY(v)
		fmt.Fprintf(&b, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>\n", areaRight, y, areaRight+5, y)
		fmt.Fprintf(&b, "<text x=\"%d\" y=\"%.1f\" stroke=\"none\">%s</text>\n", areaRight+8, y+4, tickText(v, kTicks))
	}
	for _, v := range xTicks {
		x := frameX(v)
		fmt.Fprintf(&b, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>\n", x, areaBottom, x, areaBottom+5)
		fmt.Fprintf(&b, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" stroke=\"none\">%s</text>\n", x, areaBottom+18, tickText(v, xTicks))
	}
	b.WriteString("</g>\n")

	// Bars, then boundaries, then the line on top.
	b.WriteString("<g class=\"bitrate\">\n")
	for i, c := range q.Chunks {
		x0, x1 := frameX(float64(c.Start)), frameX(float64(c.End))
		y := kbpsY(c.Kbps)
		fmt.Fprintf(&b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" fill-opacity=\"0.35\" stroke=\"%s\"><title>chunk %d, frames %d-%d: %.1f kbit/s, %s %.2f</title></rect>\n",
			x0, y, math.Max(x1-x0, 0.5), areaBottom-y, bitrateColor, bitrateColor, i, c.Start, c.End-1, c.Kbps, q.Stat, c.Score)
	}
	b.WriteString("</g>\n")
	for _, c := range q.Chunks {
		if c.Start == 0 {
			continue
		}
		x := frameX(float64(c.Start))
		fmt.Fprintf(&b, "<line class=\"boundary\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"%s\" stroke-dasharray=\"4 3\"/>\n",
			x, areaTop, x, areaBottom, boundaryColor)
	}
	if q.Worst >= 0 && len(q.Chunks) > 1 {
		c := q.Chunks[q.Worst]
		fmt.Fprintf(&b, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" font-size=\"11\" fill=\"#333333\">worst</text>\n",
			(frameX(float64(c.Start))+frameX(float64(c.End)))/2, areaTop+12)
	}
	if n > 0 {
		fmt.Fprintf(&b, "<polyline class=\"score\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.8\" stroke-linejoin=\"round\" points=\"", scoreColor)
		for i, p := range linePoints(q.Scores, int(w)) {
			if i > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%.1f,%.1f", frameX(p[0]), scoreY(p[1]))
		}
		b.WriteString("\"/>\n")
	}

	// The frame of the plot area and the axis labels.
	fmt.Fprintf(&b, "<rect x=\"%d\" y=\"%d\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" stroke=\"#000000\"/>\n", areaLeft, areaTop, w, h)
	fmt.Fprintf(&b, "<text x=\"%.0f\" y=\"%d\" text-anchor=\"middle\">frame</text>\n", areaLeft+w/2, plotHeight-10)
	fmt.Fprintf(&b, "<text transform=\"translate(16 %.0f) rotate(-90)\" text-anchor=\"middle\" fill=\"%s\">%s (higher is better)</text>\n",
		areaTop+h/2, scoreColor, esc(label))
	fmt.Fprintf(&b, "<text transform=\"translate(%d %.0f) rotate(90)\" text-anchor=\"middle\" fill=\"#8a5a00\">kbit/s per chunk</text>\n",
		plotWidth-12, areaTop+h/2)
	b.WriteString("</svg>\n")
	return b.Bytes()
}

// metricLabel names a metric as people write it.
func metricLabel(metric string) string {
	switch metric {
	case quality.SSIMULACRA2:
		return "SSIMULACRA2"
	case quality.PSNR:
		return "PSNR (dB)"
	}
	return metric
}

// linePoints returns the points (frame centre, score) of the score line.
// Up to two frames per pixel of width every frame is a point; beyond, each
// pixel column gets two points, the lowest and the highest score of its
// frames, in frame order.
func linePoints(scores []float64, width int) [][2]float64 {
	n := len(scores)
	if n <= 2*width {
		pts := make([][2]float64, n)
		for i, s := range scores {
			pts[i] = [2]float64{float64(i) + 0.5, s}
		}
		return pts
	}
	pts := make([][2]float64, 0, 2*width)
	for col := range width {
		a, z := col*n/width, (col+1)*n/width
		lo, hi := a, a
		for i := a; i < z; i++ {
			if scores[i] < scores[lo] {
				lo = i
			}
			if scores[i] > scores[hi] {
				hi = i
			}
		}
		first, second := min(lo, hi), max(lo, hi)
		pts = append(pts, [2]float64{float64(first) + 0.5, scores[first]}, [2]float64{float64(second) + 0.5, scores[second]})
	}
	return pts
}

// scoreMax returns the highest score, or NaN for none.
func scoreMax(scores []float64) float64 {
	m := math.NaN()
	for i, s := range scores {
		if i == 0 || s > m {
			m = s
		}
	}
	return m
}

// niceTicks returns about n evenly spaced round values (steps of 1, 2 or 5
// times a power of ten) covering [lo, hi], and the ends of the axis, the
// first and last tick. An empty or degenerate range is widened.
func niceTicks(lo, hi float64, n int) (ticks []float64, from, to float64) {
	if math.IsNaN(lo) || math.IsNaN(hi) || math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		lo, hi = 0, 1
	}
	if hi-lo < 1e-9 {
		lo, hi = lo-1, hi+1
	}
	raw := (hi - lo) / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := 10 * mag
	for _, m := range []float64{1, 2, 5} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	// Ticks are k*step, rounded to the step's decimals: 0.6, not
	// 0.6000000000000001.
	scale := math.Pow(10, math.Max(0, math.Ceil(-math.Log10(step)-1e-9)))
	round := func(v float64) float64 { return math.Round(v*scale) / scale }
	first, last := math.Floor(lo/step), math.Ceil(hi/step)
	for k := first; k <= last; k++ {
		ticks = append(ticks, round(k*step))
	}
	return ticks, round(first * step), round(last * step)
}

// tickText formats a tick value with the decimals the ticks' step needs.
func tickText(v float64, ticks []float64) string {
	dec := 0
	if len(ticks) > 1 {
		if step := ticks[1] - ticks[0]; step < 1 {
			dec = int(math.Ceil(-math.Log10(step) - 1e-9))
		}
	}
	return strconv.FormatFloat(v, 'f', dec, 64)
}

// esc escapes s for XML text and attribute values.
func esc(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
