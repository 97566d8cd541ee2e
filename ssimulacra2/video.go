package ssimulacra2

import (
	"context"
	"errors"
	"fmt"
	"io"

	"golang.org/x/sync/errgroup"
)

// ErrFrameCount is returned when two streams being compared do not have
// the same number of frames.
var ErrFrameCount = errors.New("streams differ in frame count")

// ScoreY4M scores two Y4M streams frame by frame using a zero Scorer.
func ScoreY4M(ctx context.Context, ref, dist io.Reader, c Color) ([]float64, error) {
	return Scorer{}.ScoreY4M(ctx, ref, dist, c)
}

// ScoreY4M reads two YUV4MPEG2 streams of the same frame size and returns
// the score of each frame of dist against the same frame of ref, both
// converted to RGB with c (see YUVFrame.Image). The streams may differ in
// depth, subsampling and range tag. Reading and conversion of the next pair
// overlap the scoring of the current one.
//
// It returns the scores so far and an error if a stream is malformed, if the
// sizes differ (ErrSizeMismatch), if one stream ends before the other
// (ErrFrameCount), or if ctx is cancelled.
func (s Scorer) ScoreY4M(ctx context.Context, ref, dist io.Reader, c Color) ([]float64, error) {
	rr, err := NewY4MReader(ref)
	if err != nil {
		return nil, fmt.Errorf("reference: %w", err)
	}
	dr, err := NewY4MReader(dist)
	if err != nil {
		return nil, fmt.Errorf("distorted: %w", err)
	}
	rh, dh := rr.Header(), dr.Header()
	if rh.Width != dh.Width || rh.Height != dh.Height {
		return nil, fmt.Errorf("%dx%d vs %dx%d: %w", rh.Width, rh.Height, dh.Width, dh.Height, ErrSizeMismatch)
	}

	type pair struct{ ref, dist *Image }
	pairs := make(chan pair, 1)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(pairs)
		for n := 0; ; n++ {
			rf, rerr := rr.ReadFrame()
			df, derr := dr.ReadFrame()
			switch {
			case errors.Is(rerr, io.EOF) && errors.Is(derr, io.EOF):
				return nil
			case errors.Is(rerr, io.EOF) || errors.Is(derr, io.EOF):
				return fmt.Errorf("frame %d: %w", n, ErrFrameCount)
			case rerr != nil:
				return fmt.Errorf("reference: %w", rerr)
			case derr != nil:
				return fmt.Errorf("distorted: %w", derr)
			}
			p := pair{rf.Image(c), df.Image(c)}
			select {
			case pairs <- p:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
	})
	var scores []float64
	g.Go(func() error {
		for p := range pairs {
			if err := gctx.Err(); err != nil {
				return err
			}
			v, err := s.Score(p.ref, p.dist)
			if err != nil {
				return fmt.Errorf("frame %d: %w", len(scores), err)
			}
			scores = append(scores, v)
		}
		return nil
	})
	err = g.Wait()
	return scores, err
}
