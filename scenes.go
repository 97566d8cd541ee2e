package av1job

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"

	"github.com/av1job/av1job/internal/journal"
	"github.com/av1job/av1job/internal/plan"
	"github.com/av1job/av1job/internal/probe"
	"github.com/av1job/av1job/internal/scene"
	"github.com/av1job/av1job/internal/tools"
)

// sceneFile is what `av1job scenes --save` writes and what the job
// directory keeps (scenes.json) so that detection runs once per source:
// every frame's timestamp, the detector's score per frame and the cuts.
// Cuts may be edited by hand; they are used as they are.
type sceneFile struct {
	Version   int       `json:"version"`
	Detector  string    `json:"detector"`  // the detector that made Scores and Cuts
	Threshold float64   `json:"threshold"` // its threshold
	Size      int64     `json:"source_size"`
	Content   string    `json:"source_content"` // hash of the source's head and tail (plan.SourceIdentity)
	Stream    int       `json:"stream"`
	Frames    int       `json:"frames"`
	TimeBase  string    `json:"time_base"`
	PTS       []int64   `json:"pts"`
	Scores    []float64 `json:"scores,omitempty"`
	// Detail, Motion and Bytes are each frame's measures the cost model
	// reads (scene.Analysis); absent in files of earlier versions.
	Detail []float64 `json:"detail,omitempty"`
	Motion []float64 `json:"motion,omitempty"`
	Bytes  []int64   `json:"bytes,omitempty"`
	Cuts   []int     `json:"cuts"` // frames that start a scene, before the min/max scene lengths
}

const sceneFileVersion = 1

// detector names the scene detector and its version: a cache made by
// another one is not used.
const detector = "av1job-scenes 2"

// Scenes are a source's scene cuts and the chunks a job would plan from
// them.
type Scenes struct {
	Frames int   // frames in the source
	Cuts   []int // detected scene starts, frame 0 first
	Chunks []int // chunk starts after the minimum and maximum scene lengths
	file   *sceneFile
}

// Save writes the scenes to path (atomically) for Options.Scenes.
func (s *Scenes) Save(path string) error {
	return saveScenes(path, s.file)
}

// DetectScenes decodes input (or reads o.Scenes when set) and returns its
// scenes under the planning options of o. progress, when set, is called
// with the number of frames decoded so far.
func DetectScenes(ctx context.Context, input string, o Options, progress func(frames int)) (*Scenes, error) {
	o.defaults()
	if err := o.validatePlanning(); err != nil {
		return nil, err
	}
	if err := tools.Check(tools.FFprobe, tools.FFmpeg); err != nil {
		return nil, usage(err)
	}
	src, err := probe.Probe(ctx, input)
	if err != nil {
		return nil, classify(err)
	}
	sf, err := findScenes(ctx, src, o, "", progress, nil)
	if err != nil {
		return nil, err
	}
	fps, _ := src.Video.FrameRate.Float64()
	// The chunks encode would plan: the same planner and cost rule.
	rule := newCostRule(&o, src)
	rule.See(sf.Detail, sf.Motion, sf.Bytes)
	planner := &plan.Planner{MinLen: o.MinSceneLen, MaxLen: maxLen(o, fps), Split: rule.Split}
	var starts []int
	for _, c := range planner.Finish(sf.Frames, sf.Cuts, sf.Scores) {
		starts = append(starts, c.Start)
	}
	return &Scenes{Frames: sf.Frames, Cuts: sf.Cuts, Chunks: starts, file: sf}, nil
}

func maxLen(o Options, fps float64) int { return max(int(o.MaxSceneLen*fps), o.MinSceneLen) }

// findScenes returns the scenes of src: from o.Scenes when set, else from
// the cache file when it matches the source and the detector, else by
// detection (and then the cache is written, if one is named).
// final, when set, is called as detection goes (scene.Options.Final).
func findScenes(ctx context.Context, src *probe.Source, o Options, cache string, progress func(int), final func(*scene.Analysis, int)) (*sceneFile, error) {
	size, content, err := identity(src.Path)
	if err != nil {
		return nil, err
	}
	if o.Scenes != "" {
		sf, err := loadScenes(o.Scenes)
		if err != nil {
			return nil, usage(err)
		}
		if err := sf.matches(src, size, content); err != nil {
			return nil, usagef("%s: %v; run av1job scenes %s --save %s again", o.Scenes, err, src.Path, o.Scenes)
		}
		return sf, nil
	}
	if cache != "" {
		// A cache without the cost measures (an earlier version's) is not
		// used: the plan would differ from a detection's.
		if sf, err := loadScenes(cache); err == nil && sf.Detector == detector && sf.Threshold == o.SceneThreshold && sf.matches(src, size, content) == nil &&
			len(sf.Detail) == sf.Frames && len(sf.Motion) == sf.Frames && len(sf.Bytes) == sf.Frames {
			return sf, nil
		}
	}
	a, err := scene.Analyze(ctx, src, scene.Options{Progress: progress, Final: final})
	if err != nil {
		return nil, classify(err)
	}
	sf := &sceneFile{Version: sceneFileVersion, Detector: detector, Threshold: o.SceneThreshold, Size: size, Content: content,
		Stream: src.Video.Index, Frames: a.Frames, TimeBase: a.TimeBase.RatString(), PTS: a.PTS, Scores: a.Scores, Cuts: a.Cuts(o.SceneThreshold),
		Detail: a.Detail, Motion: a.Motion, Bytes: a.Bytes}
	if cache != "" {
		if err := saveScenes(cache, sf); err != nil {
			return nil, err
		}
	}
	return sf, nil
}

// identity is the source's size and a hash of its head and tail; unlike
// the fingerprint it leaves out the modification time, so that a copied
// source keeps its scenes.
func identity(path string) (int64, string, error) {
	id, err := plan.SourceIdentity(path)
	if err != nil {
		return 0, "", err
	}
	return id.Size, id.Sample, nil
}

// matches checks that the scenes were detected on this source.
func (sf *sceneFile) matches(src *probe.Source, size int64, content string) error {
	tb, ok := new(big.Rat).SetString(sf.TimeBase)
	switch {
	case sf.Size != size || sf.Content != content:
		return fmt.Errorf("detected on a different file than %s (size %d, this one %d)", src.Path, sf.Size, size)
	case sf.Stream != src.Video.Index:
		return fmt.Errorf("detected on video stream %d, %s's is %d", sf.Stream, src.Path, src.Video.Index)
	case !ok || tb.Cmp(src.Video.TimeBase) != 0:
		return fmt.Errorf("time base %s differs from %s's %s", sf.TimeBase, src.Path, src.Video.TimeBase.RatString())
	}
	return nil
}

// loadScenes reads and checks a scene file.
func loadScenes(path string) (*sceneFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: no such scenes file", path)
		}
		return nil, fmt.Errorf("%s: %w", path, unwrapPath(err))
	}
	var sf sceneFile
	if err := json.Unmarshal(b, &sf); err != nil {
		return nil, fmt.Errorf("%s: not a scenes file: %v", path, err)
	}
	switch {
	case sf.Version != sceneFileVersion:
		return nil, fmt.Errorf("%s: scenes file version %d, this av1job reads %d", path, sf.Version, sceneFileVersion)
	case sf.Frames <= 0 || len(sf.PTS) != sf.Frames:
		return nil, fmt.Errorf("%s: %d timestamps for %d frames", path, len(sf.PTS), sf.Frames)
	case sf.Scores != nil && len(sf.Scores) != sf.Frames:
		return nil, fmt.Errorf("%s: %d scores for %d frames", path, len(sf.Scores), sf.Frames)
	}
	for i := 1; i < len(sf.PTS); i++ {
		if sf.PTS[i] <= sf.PTS[i-1] {
			return nil, fmt.Errorf("%s: timestamps not increasing at frame %d", path, i)
		}
	}
	for i, c := range sf.Cuts {
		if c < 0 || c >= sf.Frames || (i > 0 && c <= sf.Cuts[i-1]) {
			return nil, fmt.Errorf("%s: cut %d (frame %d) is outside 0-%d or out of order", path, i, c, sf.Frames-1)
		}
	}
	return &sf, nil
}

func saveScenes(path string, sf *sceneFile) error {
	b, err := json.Marshal(sf)
	if err != nil {
		return fmt.Errorf("scenes: %w", err)
	}
	if err := journal.WriteFileAtomic(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("scenes: %w", err)
	}
	return nil
}

// analysis turns a scene file back into what the planner reads.
func (sf *sceneFile) analysis() *scene.Analysis {
	tb, _ := new(big.Rat).SetString(sf.TimeBase)
	return &scene.Analysis{Frames: sf.Frames, PTS: sf.PTS, TimeBase: tb, Scores: sf.Scores, Detail: sf.Detail, Motion: sf.Motion, Bytes: sf.Bytes}
}

// cutsSum identifies a scenes file's cuts in the fingerprint.
func (sf *sceneFile) cutsSum() string {
	h := sha256.New()
	_ = json.NewEncoder(h).Encode(sf.Cuts)
	return hex.EncodeToString(h.Sum(nil))[:16]
}
