package av1job

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/av1job/av1job/internal/coord"
	"github.com/av1job/av1job/internal/jobdir"
	"github.com/av1job/av1job/internal/plan"
	"github.com/av1job/av1job/internal/probe"
	"github.com/av1job/av1job/internal/scene"
)

// makePlan makes a new job's plan while its first chunks already encode:
// the scene pass reports the frames whose scores are final as it goes, the
// planner (plan.Planner) turns them into chunks that no later frame can
// change, and the coordinator c starts each as soon as a worker is free,
// the most expensive first (its Run, started on run). The chunks are the
// same as those of a job that detected first, so is the output. Once the
// pass has ended the plan is written (job.json) and set (setPlan): the
// results that waited for it are committed, and from then on the job goes
// on like any other (encode). A pass that fails (a damaged or
// variable-frame-rate source) voids what was encoded, and makePlan returns
// once the chunks have ended; a stop (sctx) ends the pass at once, and the
// parts of the chunks in flight are kept for the next run's salvage (like
// those of a killed run).
//
// After a run that was interrupted while it planned (planning.json), no
// chunk starts here: encode salvages what that run left once the same
// plan is made again, and starts the chunks then.
func (jb *Job) makePlan(ctx, sctx context.Context, o *Options, p *prepared, c *coord.Coordinator, run *chunkRun) error {
	v := p.src.Video
	fps, _ := v.FrameRate.Float64()

	// The pass stops with the job: the chunks in flight end at their
	// current frame and their parts stay, with planning.json, for the
	// next run, which plans first and then salvages them.
	passCtx, cancelPass := context.WithCancel(sctx)
	defer cancelPass()

	jb.warnConversion(p)
	jb.warnStreams(o, p)
	// Chunks left by a run that was interrupted while it planned are
	// salvaged before anything else starts: that run is planned first.
	// Otherwise the chunks start as they are planned, once the plan's
	// fingerprint is on disk.
	_, salvageFirst := jb.dir.ReadPlanning()
	stream := salvageFirst != nil
	if stream {
		if err := jb.dir.WritePlanning(planningPrint(p.fp)); err != nil {
			return err
		}
		ex, w := executor(o, p, math.MaxInt)
		run.start(ctx, c, ex, w)
	}

	rule := newCostRule(o, p.src)
	planner := &plan.Planner{MinLen: o.MinSceneLen, MaxLen: maxLen(*o, fps), Split: rule.Split}
	var chunks []plan.Chunk
	var vfrErr error
	vfrChecked := 1
	cuts, scanned := []int{0}, 1 // the cuts among final frames [0,scanned)
	var final func(*scene.Analysis, int)
	if stream {
		final = func(a *scene.Analysis, n int) {
			if vfrErr != nil {
				return
			}
			// A source of variable frame rate is refused before more is
			// encoded of it.
			check := &scene.Analysis{Frames: n, PTS: a.PTS[:n], TimeBase: a.TimeBase}
			if vfr, at := check.VariableRateFrom(fps, vfrChecked); vfr {
				vfrErr = vfrError(p, check, at, fps)
				cancelPass()
				return
			}
			vfrChecked = n
			for ; scanned < n; scanned++ {
				if a.Scores[scanned] >= o.SceneThreshold {
					cuts = append(cuts, scanned)
				}
			}
			rule.See(a.Detail, a.Motion, a.Bytes)
			new := planner.Add(n, cuts, a.Scores[:n])
			if len(new) == 0 {
				return
			}
			rule.Price(new)
			chunks = append(chunks, new...)
			// Final frames' timestamps never change: the pass only
			// appends, so the coordinator may share them.
			c.AddChunks(new, a.PTS[:n:n])
		}
	}
	sf, err := findScenes(passCtx, p.src, *o, jb.dir.Scenes(), func(n int) {
		jb.publish(Event{Kind: EventAnalyzing, Decoded: n})
	}, final)
	if err != nil && passCtx.Err() != nil && jb.ctl.IsStopped() && ctx.Err() == nil {
		// A pass ended by a stop may fail in any way (ffmpeg killed
		// mid-frame): it was stopped, and the parts stay.
		err = ErrStopped
	}
	if vfrErr != nil {
		err = vfrErr // the pass was cancelled for it
	}
	var st *jobdir.State
	if err == nil {
		st, err = jb.writePlan(o, p, sf, planner, rule, &chunks, c)
	}
	if err == nil {
		err = jb.setPlan(c, st)
	}
	if err != nil {
		c.FailPlan(err)
		_ = run.wait() // the plan's error says why
		if !errors.Is(err, ErrStopped) && ctx.Err() == nil {
			_ = jb.dir.DonePlanning() // the parts are gone: nothing to salvage
		}
		return err
	}
	return nil
}

// writePlan plans what the pass left and writes the job's state.
func (jb *Job) writePlan(o *Options, p *prepared, sf *sceneFile, planner *plan.Planner, rule *plan.CostRule, chunks *[]plan.Chunk, c *coord.Coordinator) (*jobdir.State, error) {
	v := p.src.Video
	a := sf.analysis()
	fps, _ := v.FrameRate.Float64()
	if vfr, at := a.VariableRate(fps); vfr {
		return nil, vfrError(p, a, at, fps)
	}
	rule.See(a.Detail, a.Motion, a.Bytes)
	jb.estimateOther(o, p, a.Bytes)
	rest := planner.Finish(a.Frames, sf.Cuts, a.Scores)
	rule.Price(rest)
	*chunks = append(*chunks, rest...)
	c.AddChunks(rest, a.PTS)
	opts, err := jsonOptions(o)
	if err != nil {
		return nil, err
	}
	st := &jobdir.State{
		Version: jobdir.StateVersion, ID: p.fp.Sum(), Input: p.src.Path, Output: o.Output, Created: time.Now().UTC(),
		Fingerprint: p.fp, Command: o.Command, Dir: o.Dir, Options: opts, Stream: v.Index, PixFmt: p.layout.PixFmt, Filter: p.layout.Filter,
		RateNum: v.FrameRate.Num().Int64(), RateDen: v.FrameRate.Denom().Int64(),
		Frames: a.Frames, PTS: a.PTS, TimeBase: a.TimeBase.RatString(), Cuts: sf.Cuts, Chunks: *chunks,
	}
	if err := jb.dir.WriteState(st); err != nil {
		return nil, err
	}
	return st, nil
}

// warnConversion says that the source's pixels are converted for the
// encoder, and how.
func (jb *Job) warnConversion(p *prepared) {
	v := p.src.Video
	if !p.layout.Convert {
		return
	}
	how := ""
	if p.layout.Filter != "" {
		how = " (" + map[string]string{"tv": "limited", "pc": "full"}[p.layout.Color.Range] + " range)"
		if m := p.layout.Color.Matrix; m != "" && m != v.Color.Matrix {
			how = " (" + m + " matrix, " + how[2:]
		}
	}
	jb.warn("%s: pixel format %s is converted to %s%s for the encoder", p.src.Path, v.PixFmt, p.layout.PixFmt, how)
}

// vfrError refuses a variable-frame-rate source.
func vfrError(p *prepared, a *scene.Analysis, at int, fps float64) error {
	v := p.src.Video
	return usagef("%s: variable frame rate (frame %d is %.3f s after the one before, %s fps expects %.3f s); convert it first, e.g. ffmpeg -i %s -fps_mode cfr -r %s -c:a copy fixed.mkv",
		p.src.Path, at, a.Seconds(at)-a.Seconds(at-1), v.FrameRate.RatString(), 1/fps, p.src.Path, v.FrameRate.RatString())
}

// plannerVersion changes whenever the planner or the cost model would
// plan a source otherwise. A run interrupted while it planned leaves its
// parts under chunk numbers of its plan; only a run that makes the same
// plan may salvage them (planningPrint).
const plannerVersion = "1"

// planningPrint is the fingerprint recorded in planning.json: the job's,
// and the planner's version.
func planningPrint(fp plan.Fingerprint) plan.Fingerprint {
	out := plan.Fingerprint{"planner": plannerVersion}
	for k, v := range fp {
		out[k] = v
	}
	return out
}

// newCostRule returns the plan's cost rule for the job's options and source.
func newCostRule(o *Options, src *probe.Source) *plan.CostRule {
	fps, _ := src.Video.FrameRate.Float64()
	q := o.Quantizer
	switch {
	case o.Bitrate > 0:
		q = 100
	case o.TargetQuality > 0:
		// The quantizer is each chunk's own: the plan goes by the middle
		// of the range (fingerprinted, unlike Quantizer).
		d := *o
		d.planningDefaults()
		q = (d.MinQuantizer + d.MaxQuantizer) / 2
	}
	return plan.NewCostRule(o.Speed.Int(), src.Video.Width, src.Video.Height, q, o.MinSceneLen, maxLen(*o, fps), src.Video.BitsPerPixel())
}
