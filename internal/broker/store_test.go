package broker

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/av1job/av1job/internal/testfs"
)

// TestStoreFull: a put into an object store on a full disk fails (its
// acknowledgement times out) and leaves the stream refusing writes;
// WriteError and Room name the directory and say the disk is full; Mend
// does nothing while the disk is full, and restarts JetStream once space
// is freed: the next put succeeds and the objects stored before are read
// back.
func TestStoreFull(t *testing.T) {
	fs := testfs.Tmpfs(t, filepath.Join(t.TempDir(), "fs"), "size=4m")
	dir := filepath.Join(fs, "nats")
	s, err := Start(Config{Dir: dir, Listen: "127.0.0.1:0", Token: "sesame"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()
	nc, err := nats.Connect(s.URL(), nats.Token("sesame"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	store, err := js.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: "B", Storage: jetstream.FileStorage})
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("av1"), 100<<10)
	put := func(name string) error {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		_, err := store.Put(ctx, jetstream.ObjectMeta{Name: name}, bytes.NewReader(data))
		return err
	}
	if err := put("before"); err != nil {
		t.Fatal(err)
	}
	if err := s.Room(int64(len(data))); err != nil {
		t.Fatalf("room on an empty disk: %v", err)
	}

	testfs.Fill(t, filepath.Join(fs, "fill"))
	if err := s.Room(int64(len(data))); !full(err, dir) {
		t.Errorf("room on a full disk: %v", err)
	}
	if err := put("full"); err == nil {
		t.Fatal("a put on a full disk succeeded")
	}
	err = s.WriteError()
	t.Logf("after a failed put: %v", err)
	var se *StoreError
	if !full(err, dir) || !errors.As(err, &se) || se.Stream != "OBJ_B" {
		t.Errorf("after a failed put: %v, want the disk full in %s, stream OBJ_B", err, dir)
	}
	if ok, err := s.Mend(); ok || !full(err, dir) {
		t.Errorf("mend on a full disk: %v %v, want no restart and the disk full", ok, err)
	}

	if err := os.Remove(filepath.Join(fs, "fill")); err != nil {
		t.Fatal(err)
	}
	if err := put("freed"); err == nil {
		t.Error("the stream took a write before it was mended: the test shows nothing")
	}
	if ok, err := s.Mend(); !ok || err != nil {
		t.Fatalf("mend after freeing space: %v %v", ok, err)
	}
	if err := s.WriteError(); err != nil {
		t.Errorf("after mend: %v", err)
	}
	if err := put("after"); err != nil {
		t.Fatalf("put after mend: %v", err)
	}
	for _, name := range []string{"before", "after"} {
		b, err := store.GetBytes(ctx, name)
		if err != nil || !bytes.Equal(b, data) {
			t.Errorf("%s after mend: %d bytes, %v", name, len(b), err)
		}
	}
	if ok, err := s.Mend(); ok || err != nil {
		t.Errorf("mend of a store that takes writes: %v %v, want nothing done", ok, err)
	}
}

// full reports whether err is a full disk in dir, said in one line.
func full(err error, dir string) bool {
	return err != nil && errors.Is(err, syscall.ENOSPC) && strings.HasPrefix(err.Error(), dir+": the disk is full (") &&
		!strings.Contains(err.Error(), "\n")
}
