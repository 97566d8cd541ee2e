package tools

import (
	"context"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// pipeSize returns the kernel's buffer size of pipe p.
func pipeSize(t *testing.T, p any) int {
	t.Helper()
	rc, err := p.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	var ferr error
	if err := rc.Control(func(fd uintptr) { n, ferr = unix.FcntlInt(fd, unix.F_GETPIPE_SZ, 0) }); err != nil {
		t.Fatal(err)
	}
	if ferr != nil {
		t.Fatal(ferr)
	}
	return n
}

func TestFramePipe(t *testing.T) {
	for _, tc := range []struct {
		name      string
		frameSize int
		want      int
	}{
		{"160x90 frames fit twice in the default", 160 * 90 * 3 / 2, 64 << 10},
		{"640x360 frames get two frames' worth", 640 * 360 * 3 / 2, 1 << 20},
		{"1080p frames get the most", 1920 * 1080 * 3 / 2, MaxPipe},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd, err := Command(context.Background(), "cat")
			if err != nil {
				t.Skip(err)
			}
			in, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			FramePipe(in, tc.frameSize)
			FramePipe(out, tc.frameSize)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = in.Close(); _ = cmd.Wait() }()
			for name, p := range map[string]any{"stdin": in, "stdout": out} {
				if n := pipeSize(t, p); n != tc.want {
					t.Errorf("%s: pipe of %d bytes, want %d", name, n, tc.want)
				}
			}
		})
	}
}
