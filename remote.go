package av1job

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/av1job/av1job/internal/control"
	"github.com/av1job/av1job/internal/journal"
)

// ErrNotRunning is returned by PauseJob, ResumeJob and StopJob when no
// process runs the job.
var ErrNotRunning = control.ErrNotRunning

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
	dir := JobDir(name)
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("%s: no job here (no job directory %s)", name, dir)
	}
	var st StatusInfo
	if err := control.Call(ctx, dir, cmd, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &st, nil
}

// WaitJob returns once no process runs the job named by name.
func WaitJob(ctx context.Context, name string) error {
	dir := JobDir(name)
	for {
		if _, locked, _ := journal.Owner(dir); !locked {
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
	var st StatusInfo
	if err := control.Call(ctx, JobDir(name), "status", &st); err == nil {
		return &st, nil
	}
	return readStatus(name)
}

// Load returns the options a job was created with, as stored in its job
// directory, with relative paths made absolute against the directory the
// job was started in: New(o).Run continues the job. Set o.Events before.
func Load(name string) (Options, error) {
	dir := JobDir(name)
	st, err := readState(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Options{}, fmt.Errorf("%s: no job to resume (no %s)", name, filepath.Join(dir, stateFile))
		}
		return Options{}, err
	}
	if st.Options == nil {
		return Options{}, fmt.Errorf("%s: the job does not record its options; run the encode command again", filepath.Join(dir, stateFile))
	}
	o := *st.Options
	o.Command, o.Dir = st.Command, st.Dir
	for _, p := range []*string{&o.Input, &o.Output, &o.JobDir, &o.Scenes} {
		if *p != "" && !filepath.IsAbs(*p) && st.Dir != "" {
			*p = filepath.Join(st.Dir, *p)
		}
	}
	o.Restart = false
	return o, nil
}
