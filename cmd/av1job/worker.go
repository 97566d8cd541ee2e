package main

import (
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/av1job/av1job/cluster"
)

func newWorkerCmd() *cobra.Command {
	var (
		url, tokenFile, ca, name string
		workers, threads         int
		ackWait                  time.Duration
	)
	cmd := &cobra.Command{
		Use:   "worker --connect URL --token-file FILE",
		Short: "Encode chunks for a cluster's server on this machine",
		Long: `Take chunk tasks from an av1job server over NATS JetStream and encode them
here; the source's packets come with each task, so nothing is shared but the
connection. The worker needs ffmpeg and the encoders (rav1e, SvtAv1EncApp, aomenc), and takes only
tasks for the encoder versions it has. SIGTERM or Ctrl+C drains it: it takes
no new task, sends back what its encoders made, and exits.`,
		Args: exactArgs(0, "worker takes no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if url == "" || tokenFile == "" {
				return &exitError{code: exitUsage, err: fmt.Errorf("worker needs --connect URL and --token-file FILE")}
			}
			if workers < 0 {
				return &exitError{code: exitUsage, err: fmt.Errorf("--workers %d: must be 0 (one per core) or more", workers)}
			}
			if workers == 0 {
				workers = runtime.NumCPU()
			}
			log := slog.New(slog.NewTextHandler(os.Stderr, nil))
			nc, err := cluster.Dial(url, tokenFile, ca, "av1job worker "+name)
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			defer nc.Close()
			js, err := jetstream.New(nc)
			if err != nil {
				return err
			}
			w := &cluster.Worker{NC: nc, JS: js, Name: name, Slots: workers, Threads: threads, AckWait: ackWait, Log: log}
			return w.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&url, "connect", "", "the server's NATS address, e.g. nats://HOST:4222")
	f.StringVar(&tokenFile, "token-file", "", "file holding the cluster's token (the server's DATA/token)")
	f.StringVar(&ca, "tls-ca", "", "CA certificate to trust for a TLS server")
	f.StringVar(&name, "name", "", "this worker's name in logs (default: host name and PID)")
	f.IntVar(&workers, "workers", 0, "tasks encoded at once (0: one per core)")
	f.IntVar(&threads, "threads", 1, "encoder threads per task")
	f.DurationVar(&ackWait, "ack-wait", cluster.DefaultAckWait, "how long a task stays with this worker if it goes silent")
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageErr{err} })
	return cmd
}
