package task

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"syscall"
	"testing"
)

func validTask() Task {
	return Task{Job: "5c1e0d2a9b7f4e31", Chunk: 3, Attempt: 1, Start: 48, End: 51, PTS: []int64{2002, 2044, 2086},
		Source:   SourceRef{Path: "/media/in.mkv", Size: 1 << 20, Content: "abcd", Stream: 0, Width: 320, Height: 180, PixFmt: "yuv420p", TimeBase: "1/1000", FirstPTS: 0},
		Encoder:  EncoderRef{Name: "rav1e", Version: "0.5.1"},
		Settings: EncoderOptions{Speed: 6, Quantizer: 100, Extra: []string{"--tiles", "2"}, Primaries: "bt709", FullRange: true}}
}

// TestTaskJSON: a task crosses a network as JSON and comes back equal.
func TestTaskJSON(t *testing.T) {
	in := validTask()
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out Task
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Errorf("round trip:\n%+v\n%+v", in, out)
	}
	res := Result{Job: in.Job, Chunk: 3, Attempt: 1, Start: 48, End: 50, Size: 1234, SHA256: "ff", File: "chunks/00003.ivf.part"}
	b, _ = json.Marshal(res)
	var back Result
	if err := json.Unmarshal(b, &back); err != nil || back != res || back.Frames() != 2 {
		t.Errorf("result round trip: %+v %v", back, err)
	}
}

// TestTaskValidate: a task that does not hold together is refused before
// anything runs, with a *TaskError saying why.
func TestTaskValidate(t *testing.T) {
	if err := validTask().Validate(); err != nil {
		t.Fatalf("valid task: %v", err)
	}
	cases := []struct {
		name   string
		change func(*Task)
		want   string
	}{
		{"no job", func(t *Task) { t.Job = "" }, "no job ID"},
		{"attempt 0", func(t *Task) { t.Attempt = 0 }, "attempt 0"},
		{"empty range", func(t *Task) { t.End = t.Start }, "empty"},
		{"timestamps short", func(t *Task) { t.PTS = t.PTS[:2] }, "2 timestamps for 3 frames"},
		{"timestamps backwards", func(t *Task) { t.PTS[2] = 2000 }, "not increasing"},
		{"first frame's timestamp", func(t *Task) { t.Source.FirstPTS = 5000 }, "not after the first frame's"},
		{"no source identity", func(t *Task) { t.Source.Content = "" }, "source identity"},
		{"huge picture", func(t *Task) { t.Source.Width = 70000 }, "source size"},
		{"bad time base", func(t *Task) { t.Source.TimeBase = "0/1" }, "time base"},
		{"unknown encoder", func(t *Task) { t.Encoder.Name = "x265" }, "unknown encoder"},
		{"no version", func(t *Task) { t.Encoder.Version = "" }, "version"},
		{"speed out of range", func(t *Task) { t.Settings.Speed = 12 }, "--speed 12"},
		{"refused argument", func(t *Task) { t.Settings.Extra = []string{"-o/etc/passwd"} }, "-o/etc/passwd"},
		{"filter that reads files", func(t *Task) { t.Source.Filter = "movie=/etc/passwd" }, "not a pixel format conversion"},
		{"filter with more after a conversion", func(t *Task) { t.Source.Filter = "scale=out_range=tv,format=yuv420p,movie=x" }, "not a pixel format conversion"},
		{"job ID that is a subject wildcard", func(t *Task) { t.Job = "a.*" }, "job ID"},
		{"pixel format with an option", func(t *Task) { t.Source.PixFmt = "yuv420p:x=1" }, "pixel format"},
		{"svt-av1 quantizer off its scale", func(t *Task) {
			t.Encoder, t.Settings = EncoderRef{Name: "svt-av1", Version: "1.4.1"}, EncoderOptions{Speed: 12, Quantizer: 100}
		}, "svt-av1's crf is 1-63"},
		{"svt-av1 target range off its scale", func(t *Task) {
			t.Encoder, t.Settings = EncoderRef{Name: "svt-av1", Version: "1.4.1"}, EncoderOptions{Speed: 12, Quantizer: 35}
			t.Target = &TargetQuality{Score: 70, Metric: "psnr", Stat: "mean", MinQ: 40, MaxQ: 255, Probes: 4}
		}, "quantizer range 40-255 is not within svt-av1's crf 1-63"},
		{"aomenc probe speed off its scale", func(t *Task) {
			t.Encoder, t.Settings = EncoderRef{Name: "aomenc", Version: "3.6.0"}, EncoderOptions{Speed: 6, Quantizer: 30}
			t.Target = &TargetQuality{Score: 70, Metric: "psnr", Stat: "mean", MinQ: 10, MaxQ: 63, Probes: 4, ProbeSpeed: 13}
		}, "probe speed 13 is not within aomenc's cpu-used 0-10"},
		{"aomenc's option table", func(t *Task) {
			t.Encoder, t.Settings = EncoderRef{Name: "aomenc", Version: "3.6.0"}, EncoderOptions{Speed: 6, Quantizer: 30, Extra: []string{"--kf-max-dist=10"}}
		}, "one keyframe"},
	}
	for _, tc := range cases {
		task := validTask()
		task.PTS = append([]int64(nil), task.PTS...)
		tc.change(&task)
		err := task.Validate()
		var te *TaskError
		if !errors.As(err, &te) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want a TaskError with %q", tc.name, err, tc.want)
		}
	}
}

// TestTaskValidateOtherEncoders: tasks for SVT-AV1 and aomenc on their
// own scales, with a target-quality search over them, are valid.
func TestTaskValidateOtherEncoders(t *testing.T) {
	for _, enc := range []struct{ name, version string }{{"svt-av1", "1.4.1"}, {"aomenc", "3.6.0"}} {
		task := validTask()
		task.Encoder = EncoderRef{Name: enc.name, Version: enc.version}
		task.Settings = EncoderOptions{Speed: 8, Quantizer: 35, FilmGrain: map[string]int{"svt-av1": 10}[enc.name]}
		task.Target = &TargetQuality{Score: 70, Metric: "psnr", Stat: "mean", MinQ: 10, MaxQ: 63, Probes: 4, ProbeSpeed: 10}
		if err := task.Validate(); err != nil {
			t.Errorf("%s: %v", enc.name, err)
		}
	}
}

// TestTaskErrorCause: a TaskError made from an error keeps it for
// errors.Is and errors.As.
func TestTaskErrorCause(t *testing.T) {
	cause := &os.PathError{Op: "open", Path: "/x", Err: syscall.ENOENT}
	err := fmt.Errorf("chunk 3: %w", &TaskError{Task: Task{Chunk: 3}, Msg: cause.Error(), Err: cause})
	var pe *os.PathError
	if !errors.Is(err, syscall.ENOENT) || !errors.As(err, &pe) || pe.Path != "/x" {
		t.Errorf("%v: the cause is lost", err)
	}
	var te *TaskError
	if !errors.As(err, &te) || !strings.Contains(te.Error(), "chunk 3 ") {
		t.Errorf("%v: no TaskError", err)
	}
	if (&TaskError{Msg: "bad"}).Unwrap() != nil {
		t.Error("a TaskError without a cause unwraps to one")
	}
}

// TestGrainTable: a photon-noise task gets the table package grain makes
// for its source, seeded for its first frame: two chunks of a job get
// the same grain strength and different seeds, a remote worker makes the
// same text, and parameters the model does not take are a TaskError.
func TestGrainTable(t *testing.T) {
	task := validTask()
	task.Encoder = EncoderRef{Name: "aomenc", Version: "3.6.0"}
	task.Settings = EncoderOptions{Speed: 6, Quantizer: 30, PhotonNoise: 800, Transfer: "smpte2084"}
	if err := task.Validate(); err != nil {
		t.Fatal(err)
	}
	s, err := task.EncodeSettings()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s.GrainTable, "filmgrn1\n") {
		t.Fatalf("table %q", s.GrainTable)
	}
	again, _ := task.EncodeSettings()
	if again.GrainTable != s.GrainTable {
		t.Error("the same task gave two tables")
	}
	first := task
	first.Start = 0
	f, _ := first.EncodeSettings()
	seed := func(tbl string) string { return strings.Fields(strings.SplitN(tbl, "\n", 3)[1])[4] } // "E start end apply seed update"
	if seed(f.GrainTable) == seed(s.GrainTable) {
		t.Errorf("chunks at frames 0 and %d have the same seed %s", task.Start, seed(s.GrainTable))
	}
	if strip := func(tbl string) string { return strings.SplitN(tbl, "\n", 3)[2] }; strip(f.GrainTable) != strip(s.GrainTable) {
		t.Error("the chunks' grain differs beyond the seed")
	}
	sdr := task
	sdr.Settings.Transfer = "bt709"
	if d, _ := sdr.EncodeSettings(); d.GrainTable == s.GrainTable {
		t.Error("an SDR source got the PQ source's table")
	}
	for _, bad := range []EncoderOptions{
		{Speed: 6, Quantizer: 30, PhotonNoise: 50},
		{Speed: 6, Quantizer: 30, PhotonNoise: 800, Transfer: "linear"},
	} {
		b := task
		b.Settings = bad
		var te *TaskError
		if err := b.Validate(); !errors.As(err, &te) {
			t.Errorf("%+v: %v, want a TaskError", bad, err)
		}
	}
}
