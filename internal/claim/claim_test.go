package claim

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	if out := os.Getenv("CLAIM_HELPER"); out != "" {
		c, err := Take(out, "/jobs/helper")
		if err != nil {
			os.Stdout.WriteString("error " + err.Error() + "\n")
			os.Exit(1)
		}
		defer c.Release()
		os.Stdout.WriteString("claimed\n")
		time.Sleep(time.Minute)
		return
	}
	os.Exit(m.Run())
}

// TestClaim: one claim per output, whatever the spelling of its path, in
// this process or another; the claim ends with its owner.
func TestClaim(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.mkv")
	c, err := Take(out, filepath.Join(dir, "a.av1job"))
	if err != nil {
		t.Fatal(err)
	}
	// The same output through another spelling of the path.
	wd, _ := os.Getwd()
	t.Cleanup(func() { os.Chdir(wd) })
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir("sub", 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = Take("./sub/../out.mkv", "b.av1job")
	var held *HeldError
	if !errors.As(err, &held) || held.Owner.PID != os.Getpid() || !strings.HasSuffix(held.Owner.JobDir, "a.av1job") {
		t.Fatalf("second claim: %v (%+v)", err, held)
	}
	if !strings.Contains(err.Error(), "a.av1job") {
		t.Errorf("message does not name the owner's job: %v", err)
	}
	// Another output in the same directory is free.
	other, err := Take(filepath.Join(dir, "other.mkv"), "c.av1job")
	if err != nil {
		t.Fatal(err)
	}
	other.Release()
	c.Release()
	c.Release()
	c2, err := Take(out, "d.av1job")
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	c2.Release()
}

// TestClaimAcrossProcesses: a claim held by another process refuses this
// one, and is gone once that process is killed.
func TestClaimAcrossProcesses(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.mkv")
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "CLAIM_HELPER="+out)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	buf := make([]byte, 8)
	if _, err := stdout.Read(buf); err != nil || string(buf) != "claimed\n" {
		t.Fatalf("helper: %q %v", buf, err)
	}
	_, err = Take(out, "mine")
	var held *HeldError
	if !errors.As(err, &held) || held.Owner.PID != cmd.Process.Pid || held.Owner.JobDir != "/jobs/helper" {
		t.Fatalf("claim held elsewhere: %v", err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	c, err := Take(out, "mine")
	if err != nil {
		t.Fatalf("after the owner died: %v", err)
	}
	c.Release()
}
