// Package jobdir owns the layout of a job directory: the name of every
// file in it, how a directory becomes a job directory, how one is
// recognised, locked, emptied and removed, and the job's two state files,
// job.json (the plan, written once) and journal.log (one checksummed record
// per change, package journal).
//
//	av1job.mark   marks the directory as av1job's; says whether av1job made it
//	job.json      the plan: settings, fingerprint, frame timestamps, chunks
//	planning.json the fingerprint of a job whose plan is still being made
//	journal.log   the records: chunks done, the output's identity, the end
//	lock          the owner's PID (the directory itself is flocked)
//	scenes.json   the scene detection, kept so that a restart skips it
//	chunks/       NNNNN.ivf for finished chunks, NNNNN.ivf.part while encoding
//	video.ivf     the joined chunks, while the output is muxed
//	cover-*       cover art taken from the source for the mux
//	control.sock  the running job's control socket (package control)
//	av1job.log    the log of a job started with --detach
//
// av1job removes only directories it marked, and in them only the names
// above: a directory a user pointed --job-dir at is never emptied of
// anything else, and one av1job did not create is never removed.
package jobdir

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/av1job/av1job/internal/journal"
)

// Names inside a job directory.
const (
	markFile    = "av1job.mark"
	stateFile   = "job.json"
	planFile    = "planning.json"
	journalFile = "journal.log"
	lockFile    = "lock" // journal.Acquire's
	scenesFile  = "scenes.json"
	chunkDir    = "chunks"
	scratchFile = "video.ivf"
	coverPrefix = "cover-"
	sockFile    = "control.sock"
	addrFile    = "control.addr"
	logFile     = "av1job.log"
)

// Suffix is what the default job directory adds to the output's path.
const Suffix = ".av1job"

// Mark contents: whether av1job created the directory (and may remove it)
// or adopted an empty one a user named (and leaves it in place).
const (
	markCreated = "av1job job directory, created by av1job\n"
	markAdopted = "av1job job directory, in a directory av1job did not create\n"
)

// A Dir is a job directory. Its methods name the files in it; Create,
// Lock, Reset and Remove change it.
type Dir struct{ path string }

// At returns the job directory at path, which may not exist yet.
func At(path string) Dir { return Dir{path: filepath.Clean(path)} }

// Default returns the job directory of a job writing output when no
// directory is given: output + Suffix.
func Default(output string) Dir { return At(output + Suffix) }

// Path returns the directory's path.
func (d Dir) Path() string { return d.path }

func (d Dir) String() string { return d.path }

func (d Dir) join(name string) string { return filepath.Join(d.path, name) }

// State returns the path of job.json.
func (d Dir) State() string { return d.join(stateFile) }

// Journal returns the path of journal.log.
func (d Dir) Journal() string { return d.join(journalFile) }

// Scenes returns the path of the scene detection cache.
func (d Dir) Scenes() string { return d.join(scenesFile) }

// Scratch returns the path of the joined video stream.
func (d Dir) Scratch() string { return d.join(scratchFile) }

// Log returns the path of a detached job's log.
func (d Dir) Log() string { return d.join(logFile) }

// Chunks returns the directory of the chunk files.
func (d Dir) Chunks() string { return d.join(chunkDir) }

// Chunk returns the path of chunk id's finished file.
func (d Dir) Chunk(id int) string {
	return filepath.Join(d.path, chunkDir, fmt.Sprintf("%05d.ivf", id))
}

// Part returns the path chunk id is written to until it is finished.
func (d Dir) Part(id int) string { return d.Chunk(id) + ".part" }

// ChunkID parses a chunk file's base name: "00012.ivf" is chunk 12 and
// "00012.ivf.part" its part file.
func ChunkID(name string) (id int, part bool, ok bool) {
	base, part := strings.CutSuffix(name, ".part")
	num, isIVF := strings.CutSuffix(base, ".ivf")
	if !isIVF || len(num) < 5 {
		return 0, false, false
	}
	for _, c := range num {
		if c < '0' || c > '9' {
			return 0, false, false
		}
	}
	_, err := fmt.Sscanf(num, "%d", &id)
	return id, part, err == nil && d5(id) == num
}

func d5(id int) string { return fmt.Sprintf("%05d", id) }

// Cover returns the path a cover picture named name (its extension kept)
// is extracted to.
func (d Dir) Cover(index int, ext string) string {
	return d.join(fmt.Sprintf("%s%d%s", coverPrefix, index, ext))
}

// Control returns the path of the control socket, and of the file that
// names it when it cannot live in the directory: a Unix socket's path is
// limited to 107 bytes, so a longer one moves to the temporary directory
// under a name derived from the directory's.
func (d Dir) Control() (sock, addr string) {
	abs, err := filepath.Abs(d.path)
	if err != nil {
		abs = d.path
	}
	sock = filepath.Join(abs, sockFile)
	if len(sock) >= 100 {
		h := sha256.Sum256([]byte(abs))
		sock = filepath.Join(os.TempDir(), "av1job-"+hex.EncodeToString(h[:8])+".sock")
	}
	return sock, d.join(addrFile)
}

// IsJob reports whether the directory is a job directory: marked by this
// version, or left by an earlier one, which wrote no mark: its job.json
// reads as a job's plan, or it holds nothing but names av1job writes (a
// job stopped before it was planned). A folder of the user's that happens
// to hold a file named job.json is not a job directory.
func (d Dir) IsJob() bool {
	if fi, err := os.Stat(d.join(markFile)); err == nil && fi.Mode().IsRegular() {
		return true
	}
	_, err := os.Stat(d.State())
	hasState := err == nil
	if hasState && d.readsAsState() {
		return true
	}
	entries, err := os.ReadDir(d.path)
	if err != nil || hasState {
		return false
	}
	chunks := false
	for _, e := range entries {
		switch {
		case e.Name() == chunkDir && e.IsDir() && d.onlyChunkFiles():
			chunks = true
		case !ours(e.Name()):
			return false
		}
	}
	return chunks // every earlier version made chunks/ with the directory
}

// readsAsState reports whether job.json parses as a job's plan.
func (d Dir) readsAsState() bool {
	b, err := os.ReadFile(d.State())
	if err != nil {
		return false
	}
	var st State
	return json.Unmarshal(b, &st) == nil && st.Version > 0 && len(st.Fingerprint) > 0 && len(st.Chunks) > 0
}

// onlyChunkFiles reports whether the chunk directory holds nothing but
// chunk files.
func (d Dir) onlyChunkFiles() bool {
	entries, err := os.ReadDir(d.Chunks())
	if err != nil {
		return false
	}
	for _, e := range entries {
		if _, _, ok := ChunkID(e.Name()); !ok {
			return false
		}
	}
	return true
}

// HasParts reports whether the chunk directory holds a part file: what a
// run stopped or killed while it planned leaves for the next one to
// salvage.
func (d Dir) HasParts() bool {
	entries, _ := os.ReadDir(d.Chunks())
	for _, e := range entries {
		if _, part, ok := ChunkID(e.Name()); ok && part {
			return true
		}
	}
	return false
}

// created reports whether av1job made the directory. Directories of
// earlier versions, which have no mark, were made by av1job.
func (d Dir) created() bool {
	b, err := os.ReadFile(d.join(markFile))
	return err != nil || string(b) != markAdopted
}

// NotJobError is returned by Create for an existing directory that is not
// a job directory and not empty.
type NotJobError struct{ Path string }

func (e *NotJobError) Error() string {
	return fmt.Sprintf("%s: exists and is not an av1job job directory (av1job would never remove it; choose another --job-dir)", e.Path)
}

// Check reports, without changing anything, whether Create would accept
// the directory: it may be missing, empty, or a job directory.
func (d Dir) Check() error {
	fi, err := os.Stat(d.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("job directory: %w", err)
	case !fi.IsDir():
		return fmt.Errorf("%s: job directory is a file, not a directory", d.path)
	case d.IsJob():
		return nil
	}
	entries, err := os.ReadDir(d.path)
	if err != nil {
		return fmt.Errorf("job directory: %w", err)
	}
	if len(entries) > 0 {
		return &NotJobError{Path: d.path}
	}
	return nil
}

// Create makes the directory a job directory. fresh reports whether this
// call made it one, by creating it (it is marked as made by av1job, which
// may remove it) or by adopting an empty one (marked, never removed): a
// run that fails before its job is planned undoes that with Remove. A job
// directory is taken as it is; anything else gives a *NotJobError. The
// mark and the chunk directory are durable when Create returns.
func Create(path string) (d Dir, fresh bool, err error) {
	d = At(path)
	if err := d.Check(); err != nil {
		return d, false, err
	}
	if d.IsJob() {
		if _, err := os.Stat(d.join(markFile)); err == nil {
			return d, false, d.mkChunks()
		}
		// An earlier version's job directory, which it made.
		if err := journal.WriteFileAtomic(d.join(markFile), []byte(markCreated), 0o644); err != nil {
			return d, false, fmt.Errorf("job directory: %w", err)
		}
		return d, false, d.mkChunks()
	}
	mark := markAdopted
	if err := os.Mkdir(d.path, 0o755); err == nil {
		mark = markCreated
		if err := journal.SyncDir(filepath.Dir(d.path)); err != nil {
			_ = os.Remove(d.path)
			return d, false, fmt.Errorf("job directory: %w", err)
		}
	} else if !errors.Is(err, fs.ErrExist) {
		return d, false, fmt.Errorf("job directory: %w", err)
	}
	if err := journal.WriteFileAtomic(d.join(markFile), []byte(mark), 0o644); err != nil {
		d.undoFresh(mark)
		return d, false, fmt.Errorf("job directory: %w", err)
	}
	if err := d.mkChunks(); err != nil {
		_ = d.Remove()
		return d, false, err
	}
	return d, true, nil
}

// undoFresh takes back a directory Create made or adopted before its mark
// was written.
func (d Dir) undoFresh(mark string) {
	_ = os.Remove(d.join(markFile))
	if mark == markCreated {
		_ = os.Remove(d.path)
	}
}

func (d Dir) mkChunks() error {
	if err := os.Mkdir(d.Chunks(), 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("job directory: %w", err)
	}
	return nil
}

// Lock takes the directory's lock (package journal): one process owns a
// job at a time.
func (d Dir) Lock() (*journal.Lock, error) { return journal.Acquire(d.path) }

// Owner reports the process that holds the directory's lock, if any.
func (d Dir) Owner() (pid int, locked bool, err error) { return journal.Owner(d.path) }

// Reset empties the directory of the job's state and chunks, keeping the
// mark, the lock, the scene cache and the log, for a job started again.
func (d Dir) Reset() error {
	for _, p := range []string{d.State(), d.join(planFile), d.Journal(), d.Scratch()} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("job directory: %w", err)
		}
	}
	if err := d.removeChunks(); err != nil {
		return err
	}
	return d.mkChunks()
}

// removeChunks removes the chunk files and, once empty, their directory
// (one holding other files stays).
func (d Dir) removeChunks() error {
	entries, err := os.ReadDir(d.Chunks())
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("job directory: %w", err)
	}
	others := false
	for _, e := range entries {
		if _, _, ok := ChunkID(e.Name()); !ok {
			others = true
			continue
		}
		if err := os.Remove(filepath.Join(d.Chunks(), e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("job directory: %w", err)
		}
	}
	if others {
		return nil
	}
	if err := os.Remove(d.Chunks()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("job directory: %w", err)
	}
	return nil
}

// ErrNotEmpty is wrapped by Remove's error when the directory holds files
// that are not av1job's: they are left where they are, and so is the
// directory.
var ErrNotEmpty = errors.New("holds files av1job did not make; they were left in place")

// Remove deletes the job's files and then the directory itself if av1job
// created it. Files av1job does not name are never touched: if any are
// left, the directory stays and the error wraps ErrNotEmpty. Remove does
// nothing to a directory that is not a job directory.
func (d Dir) Remove() error {
	if _, err := os.Stat(d.path); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if !d.IsJob() {
		return &NotJobError{Path: d.path}
	}
	created := d.created()
	if err := d.removeChunks(); err != nil {
		return err
	}
	entries, err := os.ReadDir(d.path)
	if err != nil {
		return fmt.Errorf("job directory: %w", err)
	}
	for _, e := range entries {
		if !ours(e.Name()) {
			continue
		}
		if err := os.Remove(d.join(e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("job directory: %w", err)
		}
	}
	if !created {
		return nil // adopted: the directory stays, with whatever else it holds
	}
	if left, _ := os.ReadDir(d.path); len(left) > 0 {
		return fmt.Errorf("%s: %w", d.path, ErrNotEmpty)
	}
	if err := os.Remove(d.path); err != nil {
		return fmt.Errorf("job directory: %w", err)
	}
	return nil
}

// ours reports whether a name in the directory is one av1job writes.
func ours(name string) bool {
	switch name {
	case markFile, stateFile, planFile, journalFile, lockFile, scenesFile, scratchFile, sockFile, addrFile, logFile:
		return true
	}
	// Temporary files of journal.WriteFileAtomic: ".job.json.tmp123".
	for _, n := range []string{stateFile, scenesFile, markFile} {
		if strings.HasPrefix(name, "."+n+".tmp") {
			return true
		}
	}
	// Cover pictures: "cover-0.png".
	if rest, ok := strings.CutPrefix(name, coverPrefix); ok {
		num, ext, _ := strings.Cut(rest, ".")
		return num != "" && strings.Trim(num, "0123456789") == "" && ext != "" && !strings.Contains(ext, ".")
	}
	return false
}
