package av1job

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/av1job/av1job/internal/control"
	"github.com/av1job/av1job/internal/jobdir"
)

// JobDir returns the job directory for a job named by its output path or
// by its job directory.
func JobDir(name string) string { return dirOf(name).Path() }

func dirOf(name string) jobdir.Dir {
	if d := jobdir.At(name); d.IsJob() {
		return d
	}
	return jobdir.Default(name)
}

// PauseJob pauses the job named by name (its output path or its job
// directory) in the process that runs it, which may be another program:
// the request goes through the job's control socket. It returns the
// job's state once every encoder is halted.
func PauseJob(ctx context.Context, name string) (*StatusInfo, error) {
	return callJob(ctx, name, "pause")
}

// ResumeJob continues a job paused by PauseJob or Job.Pause. A job no
// process runs gives ErrNotRunning: New(Load(name)).Run continues it.
func ResumeJob(ctx context.Context, name string) (*StatusInfo, error) {
	return callJob(ctx, name, "resume")
}

// StopJob asks the process running the job to stop it without losing
// work (see Job.Stop) and returns at once; WaitJob waits until it has.
func StopJob(ctx context.Context, name string) (*StatusInfo, error) {
	return callJob(ctx, name, "stop")
}

func callJob(ctx context.Context, name, cmd string) (*StatusInfo, error) {
	d := dirOf(name)
	if _, err := os.Stat(d.Path()); err != nil {
		return nil, fmt.Errorf("%s: no job here (no job directory %s)", name, d)
	}
	var st StatusInfo
	sock, addr := d.Control()
	if err := control.Call(ctx, sock, addr, cmd, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &st, nil
}

// WaitJob returns once no process runs the job named by name.
func WaitJob(ctx context.Context, name string) error {
	d := dirOf(name)
	for {
		if _, locked, _ := d.Owner(); !locked {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Status returns the state of the job named by name: the running process
// answers for itself when there is one (with live progress and pause
// state); otherwise the job directory is read. It never changes the job.
func Status(ctx context.Context, name string) (*StatusInfo, error) {
	d := dirOf(name)
	var st StatusInfo
	sock, addr := d.Control()
	if err := control.Call(ctx, sock, addr, "status", &st); err == nil {
		return &st, nil
	}
	return readStatus(name)
}

// Load returns the options a job was created with, as stored in its job
// directory, with relative paths made absolute against the directory the
// job was started in: New(o).Run continues the job. Set o.Events before.
func Load(name string) (Options, error) {
	d := dirOf(name)
	st, err := d.ReadState()
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Options{}, fmt.Errorf("%s: no job to resume (no %s)", name, d.State())
		}
		return Options{}, classify(err)
	}
	if len(st.Options) == 0 {
		return Options{}, fmt.Errorf("%s: the job does not record its options; run the encode command again", d.State())
	}
	o, err := parseOptions(st.Options)
	if err != nil {
		return Options{}, usage(&jobdir.DamagedError{Path: d.State(), Why: "damaged options (" + err.Error() + ")", Err: err})
	}
	o.Command, o.Dir = st.Command, st.Dir
	for _, p := range []*string{&o.Input, &o.Output, &o.JobDir, &o.Scenes} {
		if *p != "" && !filepath.IsAbs(*p) && st.Dir != "" {
			*p = filepath.Join(st.Dir, *p)
		}
	}
	o.Restart = false
	return o, nil
}

// parseOptions decodes the options job.json holds. One written before
// every speed was recorded leaves a speed of 0 out (jsonOptions, since,
// always writes one: its options have their defaults filled in).
func parseOptions(b json.RawMessage) (Options, error) {
	o := Options{Speed: SpeedOf(0)}
	err := json.Unmarshal(b, &o)
	return o, err
}

// jsonOptions encodes the options for job.json.
func jsonOptions(o *Options) (json.RawMessage, error) {
	b, err := json.Marshal(o)
	if err != nil {
		return nil, fmt.Errorf("job state: %w", err)
	}
	return b, nil
}
