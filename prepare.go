package av1job

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/av1job/av1job/internal/encode"
	"github.com/av1job/av1job/internal/jobdir"
	"github.com/av1job/av1job/internal/plan"
	"github.com/av1job/av1job/internal/probe"
	"github.com/av1job/av1job/internal/source"
	"github.com/av1job/av1job/task"
)

// preflight checks the paths before anything is read or written: the
// input is a regular file, the output and the job directory can be
// written, every name av1job will make fits its file system, and the job
// directory is one av1job may use.
func preflight(o *Options, dir jobdir.Dir) error {
	fi, err := os.Stat(o.Input)
	switch {
	case err != nil:
		return usagef("%s: %v", o.Input, unwrapPath(err))
	case fi.IsDir():
		return usagef("%s: is a directory, not a video file", o.Input)
	case !fi.Mode().IsRegular():
		// A named pipe would block the probe and could not be read twice.
		return usagef("%s: is not a regular file (%s); av1job reads its input several times, so it needs a file", o.Input, probe.FileKind(fi.Mode()))
	}
	if ofi, err := os.Stat(o.Output); err == nil {
		if os.SameFile(fi, ofi) {
			return usagef("%s: output is the same file as the input", o.Output)
		}
		if ofi.IsDir() {
			return usagef("%s: output is a directory", o.Output)
		}
		if !ofi.Mode().IsRegular() {
			return usagef("%s: output exists and is not a regular file (%s)", o.Output, probe.FileKind(ofi.Mode()))
		}
		if !o.Overwrite && !outputRecorded(dir, o.Output) {
			return usagef("%s: output exists (use -y to overwrite it)", o.Output)
		}
	}
	if inside(o.Output, dir.Path()) {
		return usagef("%s: the output would be inside the job directory %s, which av1job empties when the job is done; write it elsewhere or choose another --job-dir", o.Output, dir)
	}
	outDir := filepath.Dir(o.Output)
	if err := writable(outDir); err != nil {
		return usagef("%s: output directory is not writable: %v", outDir, err)
	}
	if err := fits(outDir, filepath.Base(o.Output), tempOutput(o.Output)); err != nil {
		return err
	}
	jobParent := dir.Path()
	if _, err := os.Lstat(jobParent); err != nil {
		jobParent = filepath.Dir(jobParent) // to be created
		if err := fits(jobParent, filepath.Base(dir.Path())); err != nil {
			return usagef("%v (the job directory; choose a shorter one with --job-dir)", err)
		}
	}
	if err := dir.Check(); err != nil {
		return usage(err)
	}
	if err := writable(jobParent); err != nil {
		return usagef("%s: job directory is not writable: %v", jobParent, err)
	}
	return nil
}

// inside reports whether path lies in dir or below it.
func inside(path, dir string) bool {
	ap, err1 := filepath.Abs(path)
	ad, err2 := filepath.Abs(dir)
	if err1 != nil || err2 != nil {
		return false
	}
	rel, err := filepath.Rel(ad, ap)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// fits checks that every name fits in dir's file system.
func fits(dir string, names ...string) error {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil || st.Namelen <= 0 {
		return nil // unknown: the file system will tell
	}
	for _, n := range names {
		n = filepath.Base(n)
		if int64(len(n)) > int64(st.Namelen) {
			return usagef("%s: file name too long (%d bytes; this file system allows %d)", filepath.Join(dir, n), len(n), st.Namelen)
		}
	}
	return nil
}

// writable checks that a file can be created in dir.
func writable(dir string) error {
	f, err := os.CreateTemp(dir, ".av1job-probe-*")
	if err != nil {
		return unwrapPath(err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// outputRecorded reports whether the job directory's journal records the
// file at output as the job's own finished output: same size, modification
// time and content sample as when it was renamed into place.
func outputRecorded(dir jobdir.Dir, output string) bool {
	_, ok := lastOutput(dir, output)
	return ok
}

// lastOutput returns whether the journal records output as the job's
// output, and whether it records the job finished after that.
func lastOutput(dir jobdir.Dir, output string) (finished, ok bool) {
	if !dir.IsJob() {
		return false, false
	}
	recs, err := dir.ReadJournal()
	if err != nil {
		return false, false
	}
	var out *jobdir.Record
	for i, r := range recs {
		switch r.Type {
		case jobdir.RecOutput:
			out, finished = &recs[i], false
		case jobdir.RecFinished:
			finished = true
		case jobdir.RecDone:
			out = nil // the job went on after that output
		}
	}
	if out == nil {
		return false, false
	}
	id, err := plan.SourceIdentity(output)
	if err != nil || id.Size != out.Size || id.Mtime != out.Mtime || id.Sample != out.Sample {
		return false, false
	}
	return finished, true
}

// prepared is what a job knows before it touches its job directory.
type prepared struct {
	opts   Options
	src    *probe.Source
	enc    encode.Encoder
	ver    string
	layout probe.Layout
	fp     plan.Fingerprint
	size   int64  // the source's, for tasks
	sample string // its content hash
	home   string // a digest of the job directory's path, for task names

	// finished: the output is this job's, put in place by an earlier run.
	finished, recordedFinish bool
	st                       *jobdir.State
}

// prepare checks what can be checked about the job once its source is
// probed (the encoder takes the settings at the source's size), and
// computes its fingerprint.
func prepare(ctx context.Context, o *Options, src *probe.Source, enc encode.Encoder, dir jobdir.Dir) (*prepared, error) {
	p := &prepared{src: src, enc: enc, layout: probe.LayoutFor(src.Video), opts: *o, home: homeDigest(dir)}
	ver, err := enc.Version(ctx)
	if err != nil {
		return nil, fmt.Errorf("encoder version: %w", err)
	}
	p.ver = ver
	if _, err := o.streams(src); err != nil {
		return nil, err
	}
	if o.PhotonNoise > 0 {
		// The table of the first chunk: the parameters are checked now.
		if _, err := task.GrainTable(o.PhotonNoise, src.Video.Width, src.Video.Height, p.layout.Color.Transfer, 0); err != nil {
			return nil, usagef("--photon-noise %d: %v", o.PhotonNoise, err)
		}
	}
	// The settings the source brings (its colour, its HDR10 metadata),
	// which the options' check could not see.
	if err := enc.Check(p.settings()); err != nil {
		return nil, usagef("%s: %v", o.Input, err)
	}
	if err := p.trial(ctx); err != nil {
		return nil, err
	}
	id, err := plan.SourceIdentity(src.Path)
	if err != nil {
		return nil, err
	}
	p.size, p.sample = id.Size, id.Sample
	scenes, err := sceneKey(o, dir)
	if err != nil {
		return nil, err
	}
	p.fp = plan.Fingerprint{
		"source size":    strconv.FormatInt(id.Size, 10),
		"source mtime":   id.Mtime,
		"source content": id.Sample,
		"encoder":        enc.Name() + " " + ver,
		"speed":          fmt.Sprint(o.Speed.Int()),
		"rate control":   o.rateControl(),
		"encoder args":   strings.Join(o.Extra, " "),
		"min scene len":  fmt.Sprint(o.MinSceneLen),
		"max scene len":  fmt.Sprint(o.MaxSceneLen),
		"scene detector": scenes,
	}
	if p.layout.Filter != "" {
		p.fp["pixel conversion"] = p.layout.Filter
	}
	if h := src.Video.HDR; h.Static() {
		p.fp["hdr"] = h.String()
	}
	if o.FilmGrain > 0 || o.PhotonNoise > 0 {
		// Only then: the fingerprints of jobs without grain stay as they were.
		p.fp["film grain"] = fmt.Sprintf("film grain %d, photon noise %d", o.FilmGrain, o.PhotonNoise)
	}
	if finished, ok := lastOutput(dir, o.Output); ok {
		st, err := dir.ReadState()
		if err == nil && len(plan.Diff(st.Fingerprint, p.fp)) == 0 {
			p.finished, p.recordedFinish, p.st = true, finished, st
		} else if !o.Overwrite {
			return nil, usagef("%s: output exists (use -y to overwrite it)", o.Output)
		}
	}
	return p, nil
}

// trial encodes one frame of the source's size with the job's encoder
// settings, when the encoder may refuse them (encode.NeedsTrial): the
// encoder refuses a value it does not take, a source it cannot encode
// (SVT-AV1 1.4.1 takes 4:2:0 only), or panics on settings it cannot
// encode, now rather than in every chunk. It writes no file. Its error is
// a *UsageError naming the arguments, or the context's error.
func (p *prepared) trial(ctx context.Context) error {
	s := p.settings()
	if !encode.NeedsTrial(p.enc, s) {
		return nil
	}
	if err := p.enc.Trial(ctx, trialHeader(p.src, p.layout), s); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if len(p.opts.Extra) == 0 {
			return usagef("%s: %s cannot encode it: %v", p.opts.Input, p.enc.Name(), err)
		}
		return usagef("encoder arguments %s refused by %s: %v", strings.Join(p.opts.Extra, " "), p.enc.Name(), err)
	}
	return nil
}

// sceneKey describes where the job's scene cuts come from, for the
// fingerprint: the detector, or the cuts of a scenes file.
func sceneKey(o *Options, dir jobdir.Dir) (string, error) {
	if o.Scenes == "" {
		return fmt.Sprintf("%s threshold %g", detector, o.SceneThreshold), nil
	}
	sf, err := loadScenes(o.Scenes)
	switch {
	case err == nil:
		return "cuts " + sf.cutsSum(), nil
	case o.Restart:
		return "", usage(err)
	}
	// A planned job needs its scenes file no more.
	st, serr := dir.ReadState()
	if serr != nil || !strings.HasPrefix(st.Fingerprint["scene detector"], "cuts ") {
		return "", usage(err)
	}
	return st.Fingerprint["scene detector"], nil
}

// settings are the encoder settings of the job, with the colour
// description of the pixels the encoder gets (and the film grain table of
// its first chunk).
func (p *prepared) settings() encode.Settings {
	t := Task{Source: SourceRef{Width: p.src.Video.Width, Height: p.src.Video.Height}, Settings: p.options()}
	s, err := t.EncodeSettings()
	if err != nil {
		// prepare checked the grain parameters: the table is made.
		s = t.Settings.EncodeSettings()
	}
	return s
}

// trialHeader describes one frame of src as the encoder gets it.
func trialHeader(src *probe.Source, l probe.Layout) source.Header {
	cs := l.Chroma
	if l.BitDepth > 8 {
		cs += "p" + strconv.Itoa(l.BitDepth)
	} else if cs == "420" {
		cs = "420jpeg"
	}
	num, den := src.Video.FrameRate.Num().Int64(), src.Video.FrameRate.Denom().Int64()
	raw := fmt.Sprintf("YUV4MPEG2 W%d H%d F%d:%d Ip A1:1 C%s", src.Video.Width, src.Video.Height, num, den, cs)
	return source.Header{Raw: []byte(raw), Width: src.Video.Width, Height: src.Video.Height, RateNum: int(num), RateDen: int(den),
		Colorspace: cs, AspectNum: 1, AspectDen: 1}
}

// task returns the part every task of the job shares, from its plan st;
// from the source and the fingerprint when the job is not planned yet.
func (p *prepared) task(st *jobdir.State) Task {
	if st == nil {
		v := p.src.Video
		return p.taskFor(p.fp.Sum(), v.Index, p.layout.PixFmt, p.layout.Filter, v.TimeBase.RatString())
	}
	return p.taskFor(st.ID, st.Stream, st.PixFmt, st.Filter, st.TimeBase)
}

// JobDirTag returns what names the job directory jobDir in its tasks:
// every task of the job has a job name (Task.Job) that ends in "-" and
// this, whatever its fingerprint.
func JobDirTag(jobDir string) string { return homeDigest(jobdir.At(jobDir)) }

// homeDigest names a job directory in 8 hex digits: a task's job is its
// fingerprint and this, so that two jobs of one source with the same
// settings (two outputs) never share a name in a cluster, while a job
// keeps its name across runs.
func homeDigest(d jobdir.Dir) string {
	abs, err := filepath.Abs(d.Path())
	if err != nil {
		abs = d.Path()
	}
	sum := sha256.Sum256([]byte(abs))
	return hex.EncodeToString(sum[:4])
}

// taskFor returns the part every task of a job shares. (FirstPTS is the
// coordinator's to set.)
func (p *prepared) taskFor(id string, stream int, pixFmt, filter, timeBase string) Task {
	return Task{
		Job: id + "-" + p.home,
		Source: SourceRef{Path: p.src.Path, Size: p.size, Content: p.sample, Stream: stream,
			Width: p.src.Video.Width, Height: p.src.Video.Height, PixFmt: pixFmt, Filter: filter, TimeBase: timeBase},
		Encoder:  EncoderRef{Name: p.enc.Name(), Version: p.ver},
		Settings: p.options(),
		Target:   p.opts.target(),
	}
}

// options are the tasks' encoder settings.
func (p *prepared) options() EncoderOptions {
	o := p.opts
	c := p.layout.Color
	eo := EncoderOptions{Speed: o.Speed.Int(), Quantizer: o.Quantizer, Bitrate: o.Bitrate, Extra: o.Extra,
		Primaries: c.Primaries, Transfer: c.Transfer, Matrix: c.Matrix, FullRange: p.layout.FullRange(),
		FilmGrain: o.FilmGrain, PhotonNoise: o.PhotonNoise}
	if h := p.src.Video.HDR; h.Static() {
		eo.HDR = &probe.HDR{Mastering: h.Mastering, Light: h.Light}
	}
	return eo
}

// loadPlan returns the job's plan in its job directory when the
// fingerprint matches, or nil when the job is to be planned (makePlan). A
// plan made with other settings is refused unless Restart, which discards
// it.
func (jb *Job) loadPlan(ctx context.Context, o *Options, p *prepared, fresh bool) (*jobdir.State, error) {
	st, err := jb.dir.ReadState()
	var damaged *jobdir.DamagedError
	switch {
	case err == nil && o.Restart:
		if err := jb.dir.Reset(); err != nil {
			return nil, err
		}
		st = nil
	case err == nil:
		if ch := plan.Diff(st.Fingerprint, p.fp); len(ch) > 0 {
			return nil, usagef("%s: job was started with other settings (%s); use --restart to discard it and start again", jb.dir, plan.FormatChanges(ch))
		}
	case errors.Is(err, fs.ErrNotExist):
		st = nil
	case errors.As(err, &damaged) && o.Restart:
		if err := jb.dir.Reset(); err != nil {
			return nil, err
		}
		st = nil
	default:
		return nil, err
	}
	if st == nil {
		if fp, err := jb.dir.ReadPlanning(); err == nil && !o.Restart && len(plan.Diff(fp, planningPrint(p.fp))) == 0 {
			// This job ran chunks while it was planned, and was
			// interrupted before its plan was written: what they left is
			// salvaged once the same plan is made again.
			return nil, nil
		}
		if !fresh {
			// Leftovers of a job that never got planned, or of one
			// planned otherwise: their parts belong to other chunks.
			if err := jb.dir.Reset(); err != nil {
				return nil, err
			}
		}
		return nil, nil // to be planned
	}
	if st.ID == "" {
		st.ID = st.Fingerprint.Sum() // planned by an earlier version
	}
	return st, nil
}
