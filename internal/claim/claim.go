// Package claim lets one job at a time write an output file. A claim is an
// abstract Unix socket (Linux) whose name is derived from the output's
// directory (its device and inode) and base name, so every spelling of the
// same path meets the same claim. No file is created beside the output,
// nothing can be deleted from under the owner, and the kernel drops the
// claim when the owner exits, however it exits. A job that asks for a
// claimed output connects to the socket and learns who holds it.
package claim

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// Owner describes the job that holds a claim.
type Owner struct {
	PID    int    `json:"pid"`
	JobDir string `json:"job_dir"`
}

// HeldError is returned by Take for an output another job writes.
type HeldError struct {
	Output string
	Owner  Owner // zero when the owner did not answer
}

func (e *HeldError) Error() string {
	if e.Owner.PID == 0 {
		return fmt.Sprintf("%s: another av1job job is writing this output", e.Output)
	}
	return fmt.Sprintf("%s: the job in %s (process %d) is writing this output; wait for it, or stop it with av1job stop %s", e.Output, e.Owner.JobDir, e.Owner.PID, e.Owner.JobDir)
}

// A Claim is held until Release or the end of the process.
type Claim struct {
	ln   net.Listener
	wg   sync.WaitGroup
	once sync.Once
}

// Take claims output for the job in jobDir. It returns a *HeldError if
// another job holds it. The output's directory must exist.
func Take(output, jobDir string) (*Claim, error) {
	name, err := socketName(output)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("unix", name)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, &HeldError{Output: output, Owner: ask(name)}
		}
		return nil, fmt.Errorf("claim %s: %w", output, err)
	}
	abs, _ := filepath.Abs(jobDir)
	b, _ := json.Marshal(Owner{PID: os.Getpid(), JobDir: abs})
	c := &Claim{ln: ln}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			_ = conn.SetDeadline(time.Now().Add(time.Second))
			_, _ = conn.Write(append(b, '\n'))
			conn.Close()
		}
	}()
	return c, nil
}

// ask returns what the claim's owner says of itself.
func ask(name string) Owner {
	var o Owner
	conn, err := net.DialTimeout("unix", name, time.Second)
	if err != nil {
		return o
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	_ = json.NewDecoder(conn).Decode(&o)
	return o
}

// Release gives the claim up; calling it again does nothing.
func (c *Claim) Release() {
	if c == nil {
		return
	}
	c.once.Do(func() {
		c.ln.Close()
		c.wg.Wait()
	})
}

// socketName is the abstract socket name of output's claim.
func socketName(output string) (string, error) {
	dir := filepath.Dir(output)
	fi, err := os.Stat(dir)
	if err != nil {
		return "", fmt.Errorf("claim %s: %w", output, err)
	}
	id := dir
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		id = fmt.Sprintf("%d:%d", st.Dev, st.Ino)
	}
	h := sha256.Sum256([]byte(id + "/" + filepath.Base(output)))
	// A leading @ makes the name abstract: it lives in the kernel, not on
	// disk.
	return "@av1job-output-" + hex.EncodeToString(h[:16]), nil
}
