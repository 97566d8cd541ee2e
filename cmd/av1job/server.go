package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/av1job/av1job"
	"github.com/av1job/av1job/cluster"
	"github.com/av1job/av1job/internal/broker"
	"github.com/av1job/av1job/server"
)

func newServerCmd() *cobra.Command {
	var cfg server.Config
	cmd := &cobra.Command{
		Use:   "server --data DIR",
		Short: "Run a queue of jobs whose chunks run on this machine's cores and on any av1job worker",
		Long: `Run av1job's queue: jobs submitted with av1job submit run in order (--jobs at
once), their chunks encoded by this server's own workers and by av1job worker
processes on other machines, over an embedded NATS JetStream server. All state
lives in --data: the queue, each job's journal and chunks, NATS's store and
the cluster's token (DATA/token, which workers need). A restart with the same
--data continues every job that was running. SIGTERM or Ctrl+C stops the
running jobs without losing work; they continue when the server starts again.

The API listens on 127.0.0.1:8418. The user the server runs as, on its
machine, needs no token there; every other request (another user of the
machine, another machine, a browser that is not the owner's) must carry the
token (Authorization: Bearer, or the page's login).`,
		Args: exactArgs(0, "server takes no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := cmd.Flags()
			if !f.Changed("workers") {
				cfg.Workers = -1
			} else if cfg.Workers < 0 {
				return &exitError{code: exitUsage, err: fmt.Errorf("--workers %d: must be 0 (none here) or more", cfg.Workers)}
			}
			if f.Changed("jobs") && cfg.Jobs < 1 {
				return &exitError{code: exitUsage, err: fmt.Errorf("--jobs %d: must be 1 or more", cfg.Jobs)}
			}
			if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
				return &exitError{code: exitUsage, err: errors.New("--tls-cert and --tls-key go together")}
			}
			cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))
			s, err := server.Open(cfg)
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			fmt.Fprintf(os.Stderr, "av1job server: web page and API on http://%s, NATS on %s; workers elsewhere: av1job worker --connect %s --token-file TOKEN (a copy of %s/token)\n",
				s.HTTPAddr(), s.NATSURL(), s.NATSURL(), cfg.Data)
			return s.Serve(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Data, "data", "", "directory for all the server's state (made if missing)")
	f.StringVar(&cfg.HTTP, "http", server.DefaultHTTP, "address of the HTTP API")
	f.StringVar(&cfg.NATSListen, "nats-listen", broker.DefaultListen, "address of the embedded NATS server (workers connect here)")
	f.StringVar(&cfg.NATSURL, "nats", "", "use this external NATS server instead of the embedded one")
	f.StringVar(&cfg.TokenFile, "token-file", "", "the cluster's token (default DATA/token, made if missing)")
	f.StringVar(&cfg.TLSCert, "tls-cert", "", "certificate for the embedded NATS server's TLS")
	f.StringVar(&cfg.TLSKey, "tls-key", "", "key for --tls-cert")
	f.IntVar(&cfg.Workers, "workers", 0, "chunks this machine encodes at once (default one per core; 0: none, remote workers only)")
	f.IntVar(&cfg.Jobs, "jobs", 2, "jobs run at once; their chunks share the workers")
	f.DurationVar(&cfg.AckWait, "ack-wait", cluster.DefaultAckWait, "how long a task stays with a worker that goes silent")
	f.StringArrayVar(&cfg.Media, "media", nil, "a folder the web page's file browser shows (repeatable); the browser never leaves them (the API takes any path: it is a convenience, not an access limit)")
	cmd.MarkFlagRequired("data") //nolint:errcheck // the flag exists
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageErr{err} })
	return cmd
}

// serverFlags say which server a client command talks to.
type serverFlags struct {
	url, tokenFile string
}

func (s *serverFlags) add(f *pflag.FlagSet) {
	f.StringVar(&s.url, "server", "", "the av1job server's API address (default $AV1JOB_SERVER, else "+server.DefaultHTTP+")")
	f.StringVar(&s.tokenFile, "token-file", "", "the server's token (DATA/token), for another user or machine than the server's (default $AV1JOB_TOKEN_FILE)")
}

// given reports whether a server was named, by flag or environment.
func (s *serverFlags) given() bool { return s.url != "" || os.Getenv("AV1JOB_SERVER") != "" }

func (s *serverFlags) client() (*server.Client, error) {
	c := &server.Client{URL: s.url}
	if c.URL == "" {
		c.URL = os.Getenv("AV1JOB_SERVER")
	}
	if c.URL == "" {
		c.URL = server.DefaultHTTP
	}
	tf := s.tokenFile
	if tf == "" {
		tf = os.Getenv("AV1JOB_TOKEN_FILE")
	}
	if tf != "" {
		tok, err := broker.ReadToken(tf)
		if err != nil {
			return nil, &exitError{code: exitUsage, err: fmt.Errorf("--token-file: %w", err)}
		}
		c.Token = tok
	}
	return c, nil
}

// serverJob returns the server job a control command names, or nil when
// the name is a local job: a server is used when one is named, or when
// no job directory answers to the name here and the default server knows
// the job.
func (s *serverFlags) serverJob(ctx context.Context, name string) (*server.Client, *server.JobInfo, error) {
	if !s.given() {
		if _, err := os.Stat(av1job.JobDir(name)); err == nil {
			return nil, nil, nil
		}
	}
	c, err := s.client()
	if err != nil {
		return nil, nil, err
	}
	ji, err := c.Find(ctx, name)
	if err != nil {
		if !s.given() && (errors.Is(err, server.ErrNoServer) || errors.Is(err, server.ErrNoJob)) {
			return nil, nil, nil // not the default server's: a local job, or none
		}
		return nil, nil, &exitError{code: exitUsage, err: err}
	}
	return c, ji, nil
}

// requestErr makes a server's refusal a usage error.
func requestErr(err error) error {
	var re *server.RequestError
	if errors.As(err, &re) || errors.Is(err, server.ErrNoServer) {
		return &exitError{code: exitUsage, err: err}
	}
	return err
}

func newSubmitCmd() *cobra.Command {
	o := av1job.NewOptions("", "")
	var sf serverFlags
	cmd := &cobra.Command{
		Use:   "submit INPUT -o OUTPUT [flags] [-- RAV1E ARGS]",
		Short: "Queue a job on an av1job server and print its ID",
		Long: `Queue the encode of INPUT to OUTPUT on an av1job server. The paths are on
the server's machine (relative ones are made absolute here). The job is
checked as encode checks it, so a bad input or an existing output is refused
now. Its ID is printed on stdout; av1job wait ID waits for it.`,
		Args: oneInput("submit"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := inputArgs(cmd, args, &o); err != nil {
				return err
			}
			o.JobDir = ""
			c, err := sf.client()
			if err != nil {
				return err
			}
			ji, err := c.Submit(cmd.Context(), o)
			if err != nil {
				return requestErr(err)
			}
			fmt.Println(ji.ID)
			fmt.Fprintf(os.Stderr, "av1job: job %s queued: %s -> %s; av1job wait %s\n", ji.ID, ji.Input, ji.Output, ji.ID)
			return nil
		},
	}
	f := cmd.Flags()
	addJobFlags(f, &o, "chunks of this job in flight at once (default 8; the workers' slots are the real limit)")
	sf.add(f)
	cmd.Flags().SetInterspersed(true)
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageErr{err} })
	return cmd
}

func newJobsCmd() *cobra.Command {
	var sf serverFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "jobs",
		Short: "List an av1job server's queue: state, progress, fps and ETA of each job",
		Args:  exactArgs(0, "jobs takes no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := sf.client()
			if err != nil {
				return err
			}
			jobs, err := c.Jobs(cmd.Context())
			if err != nil {
				return requestErr(err)
			}
			if asJSON {
				return json.NewEncoder(os.Stdout).Encode(jobs)
			}
			tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTATE\tFRAMES\t%\tCHUNKS\tFPS\tETA\tOUTPUT")
			for _, j := range jobs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d/%d\t%s\t%s\t%s\n", j.ID, queueState(&j), frames(&j), percent(&j), j.ChunksDone, j.ChunksTotal, fps(j.FPS), eta(j.ETA), j.Output)
			}
			return tw.Flush()
		},
	}
	sf.add(cmd.Flags())
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func queueState(j *server.JobInfo) string {
	if j.State == server.StateQueued && j.Paused {
		return "queued (held)"
	}
	return j.State
}

func frames(j *server.JobInfo) string {
	if j.FramesTotal == 0 {
		return "-"
	}
	return fmt.Sprintf("%d/%d", j.FramesDone, j.FramesTotal)
}

func percent(j *server.JobInfo) string {
	if j.FramesTotal == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", 100*float64(j.FramesDone)/float64(j.FramesTotal))
}

func fps(v float64) string {
	if v <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", v)
}

func eta(s float64) string {
	if s <= 0 {
		return "-"
	}
	return (time.Duration(s) * time.Second).Round(time.Second).String()
}

func newWaitCmd() *cobra.Command {
	var sf serverFlags
	cmd := &cobra.Command{
		Use:   "wait JOB",
		Short: "Wait until a job ends; the exit status is encode's (0 done, 1 failed, 3 stopped)",
		Args:  exactArgs(1, "wait takes one JOB"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, ji, err := sf.serverJob(ctx, args[0])
			if err != nil {
				return err
			}
			if c == nil {
				return waitLocal(ctx, args[0])
			}
			ji, err = c.Wait(ctx, ji.ID)
			if err != nil {
				return requestErr(err)
			}
			if ji.State == av1job.StateDone && ji.Summary != nil {
				// What encode ends with, for a job the server ran.
				fmt.Fprintf(os.Stderr, "av1job: %s\n", ji.Summary.Line())
				if w := largerWarning(*ji.Summary, av1job.Options{Encoder: ji.Encoder, Quantizer: ji.Quantizer, Bitrate: ji.Bitrate, TargetQuality: ji.TargetQuality}); w != "" {
					fmt.Fprintf(os.Stderr, "av1job: warning: %s\n", w)
				}
			}
			return endedAs(args[0], ji.State, ji.Error)
		},
	}
	sf.add(cmd.Flags())
	return cmd
}

// waitLocal waits for a job this machine runs without a server.
func waitLocal(ctx context.Context, name string) error {
	if _, err := os.Stat(av1job.JobDir(name)); err != nil {
		if _, oerr := os.Stat(name); oerr == nil {
			return nil // done: a finished job leaves its output alone
		}
		return &exitError{code: exitUsage, err: fmt.Errorf("%s: no job here (no job directory %s, no server knows it)", name, av1job.JobDir(name))}
	}
	if err := av1job.WaitJob(ctx, name); err != nil {
		return err
	}
	st, err := av1job.Status(ctx, name)
	if err != nil {
		if _, oerr := os.Stat(name); oerr == nil {
			return nil // done, and its job directory removed
		}
		return err
	}
	return endedAs(name, st.State, st.Error)
}

// endedAs gives a job's final state as encode's exit status.
func endedAs(name, state, msg string) error {
	switch state {
	case av1job.StateDone:
		fmt.Fprintf(os.Stderr, "av1job: %s: done\n", name)
		return nil
	case av1job.StateStopped:
		return &exitError{code: exitStopped, err: fmt.Errorf("%s: stopped; av1job resume %s continues it", name, name)}
	case av1job.StateFailed:
		return &exitError{code: exitFailed, err: fmt.Errorf("%s: failed: %s", name, msg)}
	}
	return &exitError{code: exitFailed, err: fmt.Errorf("%s: %s", name, state)}
}

// serverControl pauses, resumes or stops a server job and prints what
// happened.
func serverControl(ctx context.Context, c *server.Client, ji *server.JobInfo, name, op string) error {
	got, err := c.Control(ctx, ji.ID, op)
	if err != nil {
		return requestErr(err)
	}
	fmt.Printf("job %s (%s): %s, %d/%d frames\n", got.ID, name, serverVerb(got, op), got.FramesDone, got.FramesTotal)
	return nil
}

func serverVerb(j *server.JobInfo, op string) string {
	switch {
	case op == "stop" && j.State == av1job.StateRunning:
		return "stopping"
	case op == "pause" && j.State == server.StateQueued:
		return "held in the queue"
	}
	return strings.TrimSpace(queueState(j))
}
