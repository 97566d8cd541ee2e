// Package cluster runs a job's chunks on other machines over NATS
// JetStream: RemoteExecutor is a task.Executor whose tasks run on Workers
// (the `av1job worker` command), which run them with a local.Executor and
// stream each temporal unit back. This file is the protocol: every
// subject, stream, header and message, in one place. A program that runs
// jobs only on its own machine does not import this package and links no
// NATS.
package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/av1job/av1job/internal/broker"
	"github.com/av1job/av1job/internal/segment"
	"github.com/av1job/av1job/task"
)

// A cluster's traffic, all over NATS (JetStream where it must survive a
// restart):
//
//	av1job.task.<encoder>.<version>   tasks (stream AV1JOB_TASKS, a work queue);
//	                                  a worker takes only its encoder version's
//	av1job.claim.<job>                a worker asks the coordinator before it runs a
//	                                  delivered task (request/reply)
//	av1job.unit.<job>.<chunk>.<att>   the worker's stream for a task: header, units,
//	                                  end or failure (stream AV1JOB_UNITS)
//	av1job.beat.<job>                 a worker's heartbeat for each task it runs
//	av1job.ctl.<job>.<chunk>.<att>    pause, resume, stop for one running task
//	                                  (request/reply)
//	AV1JOB_SEGMENTS                   object store: the source segment of each task
const (
	tasksStream    = "AV1JOB_TASKS"
	unitsStream    = "AV1JOB_UNITS"
	segmentsBucket = "AV1JOB_SEGMENTS"
)

// Headers of the messages on a task's unit stream.
const (
	hdrKind  = "Av1job-Kind"  // header, unit, end, fail
	hdrClaim = "Av1job-Claim" // the claim the message is sent under
	hdrSeq   = "Av1job-Seq"   // 0, 1, 2 ... within a claim
	hdrPTS   = "Av1job-Pts"   // a unit's timestamp
)

var nameRE = regexp.MustCompile(`[^A-Za-z0-9_-]`)

// versionToken makes an encoder version fit in a subject: a readable part
// and a hash, so different versions never share a subject.
func versionToken(v string) string {
	h := sha256.Sum256([]byte(v))
	s := nameRE.ReplaceAllString(v, "_")
	if len(s) > 32 {
		s = s[:32]
	}
	return s + "-" + hex.EncodeToString(h[:4])
}

func taskSubject(e task.EncoderRef) string {
	return "av1job.task." + nameRE.ReplaceAllString(e.Name, "_") + "." + versionToken(e.Version)
}

func taskKey(t task.Task) string {
	return t.Job + "." + strconv.Itoa(t.Chunk) + "." + strconv.Itoa(t.Attempt)
}

func unitSubject(t task.Task) string { return "av1job.unit." + taskKey(t) }
func ctlSubject(t task.Task) string  { return "av1job.ctl." + taskKey(t) }
func claimSubject(job string) string { return "av1job.claim." + job }
func beatSubject(job string) string  { return "av1job.beat." + job }

// taskMsg is a task as it travels to a worker, with the segment of the
// source it reads.
type taskMsg struct {
	Task    task.Task  `json:"task"`
	Segment segmentRef `json:"segment"`
}

// segmentRef names a task's source segment in the object store.
type segmentRef struct {
	Object string       `json:"object"`
	Kind   segment.Kind `json:"kind"`
	Size   int64        `json:"size"`
	SHA256 string       `json:"sha256"`
}

// maxTaskMsg bounds a task message; a larger one is refused unread.
const maxTaskMsg = 4 << 20

// decodeTaskMsg parses and checks a task message that arrived from the
// network: nothing in it runs before it passes.
func decodeTaskMsg(b []byte) (taskMsg, error) {
	var m taskMsg
	if len(b) > maxTaskMsg {
		return m, fmt.Errorf("task message of %d bytes (at most %d)", len(b), maxTaskMsg)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("task message: %w", err)
	}
	if err := m.Task.Validate(); err != nil {
		return m, err
	}
	s := m.Segment
	switch {
	case s.Object == "" || s.Size <= 0 || len(s.SHA256) != 64:
		return m, &task.TaskError{Task: m.Task, Msg: "no segment"}
	case s.Kind != segment.Copy && s.Kind != segment.Lossless:
		return m, &task.TaskError{Task: m.Task, Msg: fmt.Sprintf("segment kind %q", s.Kind)}
	}
	return m, nil
}

// claimReq asks the coordinator whether a delivered task is still wanted.
type claimReq struct {
	Chunk    int    `json:"chunk"`
	Attempt  int    `json:"attempt"`
	Worker   string `json:"worker"`
	Delivery uint64 `json:"delivery"`
}

// claimResp answers a claim: OK with the claim the worker sends under, or
// the reason it must drop the task.
type claimResp struct {
	OK     bool   `json:"ok"`
	Claim  string `json:"claim,omitempty"`
	Reason string `json:"reason,omitempty"`
	Retry  bool   `json:"retry,omitempty"` // ask again later (the job is paused)
	// In answers to heartbeats: the state the task should be in.
	Paused bool `json:"paused,omitempty"`
	Stop   bool `json:"stop,omitempty"`
}

// beat is a worker's heartbeat for one task.
type beat struct {
	Chunk   int    `json:"chunk"`
	Attempt int    `json:"attempt"`
	Claim   string `json:"claim"`
	Frames  int    `json:"frames"` // fed to the encoder so far
}

// ctlReq steers a running task; the worker answers once it is done.
type ctlReq struct {
	Op string `json:"op"` // pause, resume, stop
}

// endMsg closes a task's unit stream.
type endMsg struct {
	End int `json:"end"` // the frame the stream ends at
}

// qualityMsg reports the quantizer a target-quality task's stream is
// encoded at and its score (nil when not measured).
type qualityMsg struct {
	Q     int      `json:"q"`
	Score *float64 `json:"score,omitempty"`
}

// failMsg reports a task that failed on the worker.
type failMsg struct {
	Msg       string `json:"msg"`
	Permanent bool   `json:"permanent,omitempty"` // trying again cannot help
	Segment   bool   `json:"segment,omitempty"`   // the segment lacks frames: send it another way
}

// keep bounds how long units and segments stay in JetStream when their
// task's executor did not remove them (it crashed, or a worker sent more
// after the task was given up).
const keep = 24 * time.Hour

// Setup makes the streams and the object store a cluster uses, or checks
// that they exist as needed.
func Setup(ctx context.Context, js jetstream.JetStream) error {
	if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: tasksStream, Subjects: []string{"av1job.task.>"}, Retention: jetstream.WorkQueuePolicy,
		Storage: jetstream.FileStorage, Duplicates: time.Minute,
	}); err != nil {
		return fmt.Errorf("cluster: stream %s: %w", tasksStream, err)
	}
	if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: unitsStream, Subjects: []string{"av1job.unit.>"}, Storage: jetstream.FileStorage,
		Duplicates: time.Minute, MaxMsgSize: 8 << 20, MaxAge: keep,
	}); err != nil {
		return fmt.Errorf("cluster: stream %s: %w", unitsStream, err)
	}
	if _, err := js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: segmentsBucket, Storage: jetstream.FileStorage, TTL: keep}); err != nil {
		return fmt.Errorf("cluster: object store %s: %w", segmentsBucket, err)
	}
	return nil
}

// consumerFor makes (or finds) the work-queue consumer that every worker
// of an encoder version shares: a task goes to one of them, and comes back
// after ackWait if its worker stops telling that it is working on it.
func consumerFor(ctx context.Context, js jetstream.JetStream, e task.EncoderRef, ackWait time.Duration) (jetstream.Consumer, error) {
	subj := taskSubject(e)
	name := "workers-" + nameRE.ReplaceAllString(e.Name, "_") + "-" + versionToken(e.Version)
	c, err := js.CreateOrUpdateConsumer(ctx, tasksStream, jetstream.ConsumerConfig{
		Durable: name, FilterSubject: subj, AckPolicy: jetstream.AckExplicitPolicy,
		AckWait: ackWait, MaxAckPending: -1,
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: consumer %s: %w", name, err)
	}
	return c, nil
}

// errNoCoordinator: nobody answered a worker's claim.
var errNoCoordinator = errors.New("no coordinator answers for the job")

// request sends a JSON request and decodes the JSON answer.
func request(ctx context.Context, nc *nats.Conn, subj string, req, resp any) error {
	b, err := json.Marshal(req)
	if err != nil {
		return err
	}
	msg, err := nc.RequestWithContext(ctx, subj, b)
	if errors.Is(err, nats.ErrNoResponders) {
		return errNoCoordinator
	}
	if err != nil {
		return err
	}
	return json.Unmarshal(msg.Data, resp)
}

// Dial connects to a cluster's NATS server at url with the token in
// tokenFile, trusting the CA certificate in caFile when set. The
// connection reconnects by itself, without end.
func Dial(url, tokenFile, caFile, name string) (*nats.Conn, error) {
	tok, err := broker.ReadToken(tokenFile)
	if err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	opts := []nats.Option{nats.Token(tok), nats.Name(name), nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond), nats.RetryOnFailedConnect(false),
		// A link that died without a word is noticed within seconds.
		nats.PingInterval(5 * time.Second), nats.MaxPingsOutstanding(2)}
	if caFile != "" {
		opts = append(opts, nats.RootCAs(caFile))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", url, err)
	}
	return nc, nil
}

// workersSubject is where workers announce themselves.
const workersSubject = "av1job.workers"

// unitPrefix begins the unit subjects of a job's tasks.
func unitPrefix(job string) string { return "av1job.unit." + job + "." }
