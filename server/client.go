package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/av1job/av1job"
)

// A Client talks to a server's API.
type Client struct {
	// URL is the server's address: http://HOST:PORT, or HOST:PORT.
	URL string
	// Token is sent when set (a server off loopback asks for it).
	Token string
	HTTP  *http.Client
}

var (
	// ErrNoServer is the error of a request no server answered.
	ErrNoServer = errors.New("no server answers")
	// ErrNoJob is the error of Find for a name no job answers to.
	ErrNoJob = errors.New("no job with this ID or output in the server's queue")
)

func (c *Client) base() string {
	u := strings.TrimRight(c.URL, "/")
	if !strings.Contains(u, "://") {
		u = "http://" + u
	}
	return u
}

// do sends a request with body v (JSON) and decodes the answer into out.
func (c *Client) do(ctx context.Context, method, path string, v, out any) error {
	var body io.Reader
	if v != nil {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	} else if method != http.MethodGet {
		body = strings.NewReader("{}")
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base()+path, body)
	if err != nil {
		return fmt.Errorf("server %s: %w", c.URL, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("server %s: %w (%w)", c.URL, ErrNoServer, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("server %s: %w", c.URL, err)
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			return &RequestError{Code: resp.StatusCode, Msg: e.Error}
		}
		return &RequestError{Code: resp.StatusCode, Msg: strings.TrimSpace(string(b))}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("server %s: answer does not parse: %w", c.URL, err)
	}
	return nil
}

// A RequestError is the server's refusal of a request.
type RequestError struct {
	Code int
	Msg  string
}

func (e *RequestError) Error() string { return e.Msg }

// Submit queues a job; relative paths are made absolute against this
// process's working directory (the server's machine is this one's, or
// shares its paths).
func (c *Client) Submit(ctx context.Context, o av1job.Options) (*JobInfo, error) {
	for _, p := range []*string{&o.Input, &o.Output, &o.Scenes} {
		if *p != "" {
			abs, err := filepath.Abs(*p)
			if err != nil {
				return nil, err
			}
			*p = abs
		}
	}
	// The options' JSON leaves out what is unset (the server fills in its
	// defaults) and carries a speed chosen, 0 included.
	var ji JobInfo
	if err := c.do(ctx, http.MethodPost, "/api/jobs", o, &ji); err != nil {
		return nil, err
	}
	return &ji, nil
}

// Jobs returns the queue.
func (c *Client) Jobs(ctx context.Context) ([]JobInfo, error) {
	var out []JobInfo
	err := c.do(ctx, http.MethodGet, "/api/jobs", nil, &out)
	return out, err
}

// Find returns the job named by name: its ID, or its output path (the
// latest such job when there are several).
func (c *Client) Find(ctx context.Context, name string) (*JobInfo, error) {
	var ji JobInfo
	err := c.do(ctx, http.MethodGet, "/api/jobs/"+url.PathEscape(name), nil, &ji)
	var re *RequestError
	if err == nil {
		return &ji, nil
	} else if !errors.As(err, &re) || re.Code != http.StatusNotFound {
		return nil, err
	}
	abs, aerr := filepath.Abs(name)
	if aerr != nil {
		return nil, err
	}
	jobs, lerr := c.Jobs(ctx)
	if lerr != nil {
		return nil, lerr
	}
	for i := len(jobs) - 1; i >= 0; i-- {
		if jobs[i].Output == abs {
			return &jobs[i], nil
		}
	}
	return nil, fmt.Errorf("%s: %w", name, ErrNoJob)
}

// Control pauses, resumes or stops the job with this ID.
func (c *Client) Control(ctx context.Context, id, op string) (*JobInfo, error) {
	var ji JobInfo
	if err := c.do(ctx, http.MethodPost, "/api/jobs/"+url.PathEscape(id)+"/"+op, nil, &ji); err != nil {
		return nil, err
	}
	return &ji, nil
}

// All pauses or resumes every job that has not ended.
func (c *Client) All(ctx context.Context, op string) ([]JobInfo, error) {
	var out []JobInfo
	err := c.do(ctx, http.MethodPost, "/api/"+op, nil, &out)
	return out, err
}

// Remove takes a job that is not running out of the queue.
func (c *Client) Remove(ctx context.Context, id string) (*JobInfo, error) {
	var ji JobInfo
	if err := c.do(ctx, http.MethodDelete, "/api/jobs/"+url.PathEscape(id), nil, &ji); err != nil {
		return nil, err
	}
	return &ji, nil
}

// Wait returns the job once it has ended. A server that goes away while
// it waits is asked again until ctx ends: a restarted server answers.
func (c *Client) Wait(ctx context.Context, id string) (*JobInfo, error) {
	for {
		var ji JobInfo
		err := c.do(ctx, http.MethodGet, "/api/jobs/"+url.PathEscape(id)+"/wait?timeout=30s", nil, &ji)
		switch {
		case err == nil && Ended(ji.State):
			return &ji, nil
		case err == nil:
			continue
		case errors.Is(err, ErrNoServer):
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(time.Second):
			}
		default:
			return nil, err
		}
	}
}
